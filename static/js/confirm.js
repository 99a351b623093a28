// data-confirm on a form: ask before a step that cannot be undone (stop a duty, rotate a QR secret).
// Without JavaScript the form posts straight away; the server-side rules still apply.
(function () {
  "use strict";
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
})();

// data-swap-errors: forms whose error answers (400, 403, 413) carry a message to show in place,
// like the 409/422 answers base.html already swaps; other failures keep htmx's default.
(function () {
  "use strict";
  var SHOWN = [400, 403, 413];
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (elt && elt.closest && elt.closest("[data-swap-errors]") && SHOWN.indexOf(evt.detail.xhr.status) >= 0) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();

// data-check-all: one box that ticks or clears every data-check-item box of its form (the approval queue).
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var all = evt.target;
    if (!all.matches || !all.matches("[data-check-all]")) return;
    var form = all.closest("form");
    form.querySelectorAll("[data-check-item]").forEach(function (box) { box.checked = all.checked; });
  });
})();

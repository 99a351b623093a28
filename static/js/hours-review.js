// data-check-all: one box that ticks or clears every data-check-item box of its form (the approval queue's records
// without flags; records with flags have no data-check-item and are ticked one by one). Clearing one item clears it.
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (!box.matches) return;
    var form = box.closest("form");
    if (box.matches("[data-check-all]")) {
      form.querySelectorAll("[data-check-item]").forEach(function (item) { item.checked = box.checked; });
    } else if (box.matches("[data-check-item]") && !box.checked) {
      var all = form.querySelector("[data-check-all]");
      if (all) all.checked = false;
    }
  });
})();

// data-filter="#list": a search box that narrows a list of [data-filter-item] rows as one types (name or phone ending),
// so an officer finds a volunteer in a few taps. Ticked rows always stay in view. Without JS the box stays hidden and
// the whole list is there.
(function () {
  "use strict";

  function apply(box) {
    var list = document.querySelector(box.getAttribute("data-filter"));
    if (!list) return;
    var words = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    list.querySelectorAll("[data-filter-item]").forEach(function (row) {
      var text = row.getAttribute("data-filter-item").toLowerCase();
      var ticked = row.querySelector("input:checked") !== null;
      var match = ticked || words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) shown += 1;
    });
    var none = box.closest("fieldset") && box.closest("fieldset").querySelector("[data-filter-empty]");
    if (none) none.hidden = shown > 0;
  }

  function setup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    box.hidden = false;
    var label = box.closest("fieldset") && box.closest("fieldset").querySelector("[data-filter-label]");
    if (label) label.hidden = false;
    box.addEventListener("input", function () { apply(box); });
    // Enter in the search box must not send the whole task form.
    box.addEventListener("keydown", function (evt) { if (evt.key === "Enter") evt.preventDefault(); });
  }

  function scan(root) { root.querySelectorAll("[data-filter]").forEach(setup); }
  document.addEventListener("htmx:load", function (evt) { scan(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
})();

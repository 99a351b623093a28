// data-keep-open on a container: its folds (<details id=…>) stay as the reader left them when htmx refreshes the
// content every few seconds (the dashboard), and a link to #id inside a closed fold opens it.
(function () {
  "use strict";
  var open = {};
  function inScope(el) { return el && el.id && el.closest && el.closest("[data-keep-open]"); }
  document.addEventListener("toggle", function (evt) {
    var el = evt.target;
    if (el.tagName === "DETAILS" && inScope(el)) { open[el.id] = el.open; }
  }, true);
  function restore() {
    Object.keys(open).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.tagName === "DETAILS" && el.open !== open[id]) { el.open = open[id]; }
    });
  }
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    var fold = target && inScope(target) && target.closest("details");
    if (fold && !fold.open) { fold.open = true; target.scrollIntoView(); }
  }
  document.addEventListener("htmx:afterSettle", restore);
  document.addEventListener("htmx:oobAfterSwap", restore);
  window.addEventListener("hashchange", reveal);
  document.addEventListener("DOMContentLoaded", reveal);
})();

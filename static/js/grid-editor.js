// data-grid-map: a grid's outline and its checkpoints (circles of their radius) from a JSON block (data-source).
// data-pick="<form id>": a tap fills that form's latitude/longitude fields and shows the circle there.
// data-pick="boundary": each tap adds a corner to the GeoJSON Polygon in the [data-boundary-field] text box.
// On pavMap (map.js): grids and checkpoints labelled, tiles only when configured; without Leaflet the typed fields work.
(function () {
  "use strict";

  function round(x) { return Math.round(x * 1e6) / 1e6; }

  function pickPoint(map, form) {
    var lat = form.querySelector("[data-pick-lat]");
    var lon = form.querySelector("[data-pick-lon]");
    var radius = form.querySelector("[data-pick-radius]");
    var circle = null;
    function show() {
      var la = parseFloat(lat.value), lo = parseFloat(lon.value), r = parseFloat(radius && radius.value) || 50;
      if (isNaN(la) || isNaN(lo)) return;
      if (!circle) circle = window.L.circle([la, lo], { radius: r, color: "#b71c1c", weight: 3 }).addTo(map);
      circle.setLatLng([la, lo]);
      circle.setRadius(r);
    }
    map.on("click", function (evt) {
      lat.value = round(evt.latlng.lat);
      lon.value = round(evt.latlng.lng);
      show();
    });
    [lat, lon, radius].forEach(function (el) { if (el) el.addEventListener("change", show); });
  }

  function pickBoundary(map, el) {
    var field = document.querySelector("[data-boundary-field]");
    var tools = document.querySelector("[data-boundary-tools]");
    if (!field) return;
    var corners = [];
    var shape = null;
    function write() {
      if (shape) { map.removeLayer(shape); shape = null; }
      if (!corners.length) { field.value = ""; return; }
      shape = corners.length > 2 ? window.L.polygon(corners, { color: "#b71c1c" }) : window.L.polyline(corners, { color: "#b71c1c" });
      shape.addTo(map);
      var ring = corners.map(function (c) { return [round(c.lng), round(c.lat)]; });
      ring.push(ring[0]);
      field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    }
    if (tools) {
      tools.hidden = false;
      tools.querySelector("[data-boundary-undo]").addEventListener("click", function () { corners.pop(); write(); });
      tools.querySelector("[data-boundary-clear]").addEventListener("click", function () { corners = []; write(); });
    }
    map.on("click", function (evt) { corners.push(evt.latlng); write(); });
  }

  function gridMap(el) {
    if (!window.L || !window.pavMap || el.getAttribute("data-ready")) return;
    el.setAttribute("data-ready", "1");
    var map = window.pavMap.base(el, window.pavMap.data(el), [], 17, true);
    var pick = el.getAttribute("data-pick");
    if (pick === "boundary") pickBoundary(map, el);
    else if (pick && document.getElementById(pick)) pickPoint(map, document.getElementById(pick));
  }

  function setup(root) { root.querySelectorAll("[data-grid-map]").forEach(gridMap); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

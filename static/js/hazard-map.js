// data-hazard-map: a Leaflet map of grid outlines and report markers from a JSON block (data-source).
// Tiles only when data-tiles is set; with none the outlines and markers still show. Without Leaflet it stays hidden.
(function () {
  "use strict";

  function readData(el) {
    var source = document.querySelector(el.getAttribute("data-source"));
    try { return source ? JSON.parse(source.textContent) : {}; } catch (e) { return {}; }
  }

  // Shared by report-form.js: a map with optional tiles and the grid outlines, fitted to them.
  function baseMap(el, data) {
    el.hidden = false;
    var map = window.L.map(el, { scrollWheelZoom: false, tap: true });
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (tiles) window.L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    var bounds = window.L.latLngBounds([]);
    (data.grids || []).forEach(function (g) {
      var layer = window.L.geoJSON(g.boundary, { style: { color: "#37474f", weight: 2, fillOpacity: 0.05 } })
        .bindTooltip(g.code + " " + g.name).addTo(map);
      bounds.extend(layer.getBounds());
    });
    return { map: map, bounds: bounds };
  }

  function hazardMap(el) {
    if (!window.L || el.getAttribute("data-ready")) return;
    var data = readData(el);
    var points = data.points || [];
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (!tiles && !(data.grids || []).length) return;  // a dot on a blank map would tell nothing
    el.setAttribute("data-ready", "1");
    var m = baseMap(el, data);
    points.forEach(function (p) {
      var marker = window.L.circleMarker([p.lat, p.lon], {
        radius: 11, weight: 3, color: p.overdue ? "#b71c1c" : "#0d47a1", fillOpacity: 0.6
      }).bindTooltip(p.label).addTo(m.map);
      if (p.url) marker.on("click", function () { window.location.href = p.url; });
      m.bounds.extend([p.lat, p.lon]);
    });
    if (m.bounds.isValid()) m.map.fitBounds(m.bounds, { padding: [16, 16], maxZoom: 16 });
    else m.map.setView([30.25, 120.1], 13);
  }

  window.pavBaseMap = baseMap;
  window.pavMapData = readData;
  function setup(root) { root.querySelectorAll("[data-hazard-map]").forEach(hazardMap); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

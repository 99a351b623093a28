// data-hazard-map: a Leaflet map of grid outlines and report markers from a JSON block (data-source).
// Tiles only when data-tiles is set; with none the outlines and markers still show. Without Leaflet it stays hidden.
(function () {
  "use strict";

  function readData(el) {
    var source = document.querySelector(el.getAttribute("data-source"));
    try { return source ? JSON.parse(source.textContent) : {}; } catch (e) { return {}; }
  }

  // Shared with report-form.js: a map with optional tiles, the grid outlines and these extra layers,
  // its view set to fit them all before any vector is drawn (Leaflet cannot clip paths without a view).
  function baseMap(el, data, extra, maxZoom) {
    el.hidden = false;
    var L = window.L;
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    var layers = (data.grids || []).map(function (g) {
      return L.geoJSON(g.boundary, { style: { color: "#37474f", weight: 2, fillOpacity: 0.05 } })
        .bindTooltip(g.code + " " + g.name);
    }).concat(extra || []);
    var bounds = L.latLngBounds([]);
    layers.forEach(function (layer) {
      bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng());
    });
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: maxZoom || 16 });
    else map.setView([30.25, 120.1], 13);
    layers.forEach(function (layer) { layer.addTo(map); });
    return map;
  }

  function hazardMap(el) {
    if (!window.L || el.getAttribute("data-ready")) return;
    var data = readData(el);
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (!tiles && !(data.grids || []).length) return;  // a dot on a blank map would tell nothing
    el.setAttribute("data-ready", "1");
    var markers = (data.points || []).map(function (p) {
      var marker = window.L.circleMarker([p.lat, p.lon], {
        radius: 11, weight: 3, color: p.overdue ? "#b71c1c" : "#0d47a1", fillOpacity: 0.6
      }).bindTooltip(p.label);
      if (p.url) marker.on("click", function () { window.location.href = p.url; });
      return marker;
    });
    baseMap(el, data, markers);
  }

  window.pavBaseMap = baseMap;
  window.pavMapData = readData;
  function setup(root) { root.querySelectorAll("[data-hazard-map]").forEach(hazardMap); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

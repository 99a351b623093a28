// data-dashboard-map: the officer's map of grid outlines, must-visit points (visited / not yet / missed), people on
// patrol and open reports, redrawn from the JSON block (data-source) each time the live part is swapped in by htmx.
// data-track-map: one patrol's breadcrumb as a line with its check-ins. Tiles only when data-tiles is set; with none
// the outlines and markers still show, and the lists beside the map hold the same facts.
(function () {
  "use strict";
  var COLOURS = { visited: "#2e7d32", not_yet: "#616161", missed: "#b71c1c", late: "#b71c1c" };

  function readData(el) {
    var source = document.querySelector(el.getAttribute("data-source"));
    try { return source ? JSON.parse(source.textContent) : null; } catch (e) { return null; }
  }

  function makeMap(el, data) {
    var L = window.L;
    el.hidden = false;
    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    return map;
  }

  // Fit the view before adding vectors: Leaflet cannot clip paths without one.
  function show(map, layers, keepView) {
    var bounds = window.L.latLngBounds([]);
    layers.forEach(function (layer) { bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng()); });
    if (!keepView) {
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
      else map.setView([30.25, 120.1], 13);
    }
    layers.forEach(function (layer) { layer.addTo(map); });
  }

  function link(marker, url) {
    if (url) marker.on("click", function () { window.location.href = url; });
    return marker;
  }

  function dashboardLayers(data) {
    var L = window.L;
    var layers = (data.grids || []).map(function (g) {
      return L.geoJSON(g.boundary, { style: { color: "#37474f", weight: 2, fillOpacity: 0.05 } }).bindTooltip(g.code + " " + g.name);
    });
    (data.points || []).forEach(function (p) {
      layers.push(L.circleMarker([p.lat, p.lon], {
        radius: 8, weight: 3, color: COLOURS[p.status] || "#616161", fillOpacity: p.status === "visited" ? 0.8 : 0.1,
        dashArray: p.status === "not_yet" ? "4 4" : null
      }).bindTooltip(p.label));
    });
    (data.hazards || []).forEach(function (h) {
      layers.push(link(L.circleMarker([h.lat, h.lon], {
        radius: 6, weight: 2, color: h.overdue ? "#b71c1c" : "#e65100", fillOpacity: 0.9
      }).bindTooltip(h.label), h.url));
    });
    (data.people || []).forEach(function (p) {
      layers.push(link(L.circleMarker([p.lat, p.lon], {
        radius: 11, weight: 3, color: "#0d47a1", fillColor: "#42a5f5", fillOpacity: 0.9
      }).bindTooltip(p.label, { permanent: true, direction: "top" }), p.url));
    });
    return layers;
  }

  function dashboardMap(el) {
    if (!window.L) return;
    var data = readData(el);
    if (!data || !(data.tiles || el.getAttribute("data-tiles") || (data.grids || []).length)) return;
    if (!el._pavMap) {
      el._pavMap = makeMap(el, data);
      el._pavLayers = [];
      show(el._pavMap, el._pavLayers = dashboardLayers(data), false);
      return;
    }
    el._pavLayers.forEach(function (layer) { el._pavMap.removeLayer(layer); });
    show(el._pavMap, el._pavLayers = dashboardLayers(data), true);  // keep the officer's zoom between refreshes
  }

  function trackMap(el) {
    if (!window.L || el._pavMap) return;
    var L = window.L;
    var data = readData(el);
    if (!data) return;
    var layers = [];
    if ((data.line || []).length > 1) layers.push(L.polyline(data.line, { color: "#0d47a1", weight: 4 }));
    (data.line || []).slice(-1).forEach(function (p) {
      layers.push(L.circleMarker(p, { radius: 6, color: "#0d47a1", fillOpacity: 1 }));
    });
    (data.checkins || []).forEach(function (c) {
      layers.push(L.circleMarker([c.lat, c.lon], { radius: 9, weight: 3, color: "#2e7d32", fillOpacity: 0.6 }).bindTooltip(c.label));
    });
    if (!layers.length && !data.tiles) return;
    el._pavMap = makeMap(el, data);
    show(el._pavMap, layers, false);
  }

  function setup() {
    document.querySelectorAll("[data-dashboard-map]").forEach(dashboardMap);
    document.querySelectorAll("[data-track-map]").forEach(trackMap);
  }
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "dashboard-live") setup();
  });
  document.addEventListener("htmx:load", setup);
  document.addEventListener("DOMContentLoaded", setup);
})();

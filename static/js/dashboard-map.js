// data-dashboard-map: the officer's map of labelled grid outlines, must-visit points named beside their markers
// (visited / not yet / missed), people on patrol and open reports, redrawn from the JSON block (data-source) each
// time the live part is swapped in by htmx. data-track-map: one patrol's breadcrumb as a line with its check-ins.
// Both on pavMap (map.js): tiles only when configured; with none the labels, scale and lists beside tell the facts.
(function () {
  "use strict";
  var COLOURS = { visited: "#2e7d32", not_yet: "#616161", missed: "#b71c1c", late: "#b71c1c" };

  function link(marker, url) {
    if (url) marker.on("click", function () { window.location.href = url; });
    return marker;
  }

  function dashboardLayers(data) {
    var L = window.L, text = window.pavMap.text;
    var layers = window.pavMap.grids(data);
    (data.points || []).forEach(function (p) {
      layers.push(L.circleMarker([p.lat, p.lon], {
        radius: 8, weight: 3, color: COLOURS[p.status] || "#616161", fillOpacity: p.status === "visited" ? 0.8 : 0.1,
        dashArray: p.status === "not_yet" ? "4 4" : null
      }).bindTooltip(text(p.name || p.label), window.pavMap.pointLabel("map-label-point map-label-" + (p.status || ""))));
    });
    (data.hazards || []).forEach(function (h) {
      layers.push(link(L.circleMarker([h.lat, h.lon], {
        radius: 6, weight: 2, color: h.overdue ? "#b71c1c" : "#e65100", fillOpacity: 0.9
      }).bindTooltip(text(h.label)), h.url));
    });
    (data.people || []).forEach(function (p) {
      layers.push(link(L.circleMarker([p.lat, p.lon], {
        radius: 11, weight: 3, color: "#0d47a1", fillColor: "#42a5f5", fillOpacity: 0.9
      }).bindTooltip(text(p.label), { permanent: true, direction: "top", className: "map-label map-label-person" }), p.url));
    });
    return layers;
  }

  function dashboardMap(el) {
    if (!window.L || !window.pavMap) return;
    var data = window.pavMap.data(el);
    if (!window.pavMap.worthDrawing(el, data)) return;
    if (!el._pavMap) {
      el._pavMap = window.pavMap.make(el, data);
      window.pavMap.show(el._pavMap, el._pavLayers = dashboardLayers(data), false, 17);
      return;
    }
    el._pavLayers.forEach(function (layer) { el._pavMap.removeLayer(layer); });
    window.pavMap.show(el._pavMap, el._pavLayers = dashboardLayers(data), true);  // keep the officer's zoom
  }

  function trackMap(el) {
    if (!window.L || !window.pavMap || el._pavMap) return;
    var L = window.L;
    var data = window.pavMap.data(el);
    var layers = window.pavMap.grids(data);
    if ((data.line || []).length > 1) layers.push(L.polyline(data.line, { color: "#0d47a1", weight: 4 }));
    (data.line || []).slice(-1).forEach(function (p) {
      layers.push(L.circleMarker(p, { radius: 6, color: "#0d47a1", fillOpacity: 1 }));
    });
    (data.checkins || []).forEach(function (c) {
      layers.push(L.circleMarker([c.lat, c.lon], { radius: 9, weight: 3, color: "#2e7d32", fillOpacity: 0.6 })
        .bindTooltip(window.pavMap.text(c.label), window.pavMap.pointLabel("map-label-point")));
    });
    if (!layers.length && !data.tiles) return;
    el._pavMap = window.pavMap.make(el, data);
    window.pavMap.show(el._pavMap, layers, false, 17);
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

// The one map base every Leaflet map uses (window.pavMap), and data-hazard-map, a map of report markers.
// Maps speak without tiles: grid outlines labelled with code and name, checkpoint names beside their markers, a
// metric scale bar and "you are here" (the phone's position when the person allows it). With tiles (data-tiles or
// the JSON's "tiles") the same layers sit on top; the credit is the tile source's own, no Leaflet flag.
// Each map's JSON block (data-source) comes from volunteers/web/views.map_data(). Without Leaflet nothing shows.
(function () {
  "use strict";

  function readData(el) {
    var source = document.querySelector(el.getAttribute("data-source"));
    try { return source ? JSON.parse(source.textContent) || {} : {}; } catch (e) { return {}; }
  }

  function text(s) {
    var span = document.createElement("span");
    span.textContent = s;
    return span.innerHTML;
  }

  // A name written on the map at a point (a grid's label): a non-interactive marker holding the text.
  function label(latlng, words, kind) {
    return window.L.marker(latlng, {
      interactive: false, keyboard: false,
      icon: window.L.divIcon({ className: "map-label map-label-" + kind, iconSize: null,
                               html: "<span>" + text(words) + "</span>" })
    });
  }

  // Grid outlines, each with its code and name written inside it.
  function gridLayers(data) {
    var L = window.L;
    var layers = [];
    (data.grids || []).forEach(function (g) {
      var outline = L.geoJSON(g.boundary, { style: { color: "#37474f", weight: 2, fillOpacity: 0.05 } });
      layers.push(outline);
      // At the top of the grid, clear of the checkpoints inside it.
      var box = outline.getBounds();
      layers.push(label([box.getNorth(), box.getCenter().lng], g.code + " " + g.name, "grid"));
    });
    return layers;
  }

  // A name beside a point, permanent; map.js turns it to the side with more room (see declutter).
  function pointLabel(className) {
    return { permanent: true, direction: "right", offset: [8, 0], className: "map-label " + className };
  }

  // Names placed so none covers another: "you are here" first, then the grids' names, then each point's name on
  // the first side of it (right, left, above, below) where it fits inside the map without covering a name already
  // placed; a name with no room waits until the map is zoomed in. Run again after every move and zoom.
  var SIDES = { right: [8, 0], left: [-8, 0], top: [0, -8], bottom: [0, 8] };

  function declutter(map) {
    var box = map.getContainer();
    var frame = box.getBoundingClientRect();
    var kept = [];
    function clashes(r) {
      if (r.left < frame.left || r.right > frame.right || r.top < frame.top || r.bottom > frame.bottom) return true;
      return kept.some(function (k) {
        return r.left < k.right - 1 && r.right > k.left + 1 && r.top < k.bottom - 1 && r.bottom > k.top + 1;
      });
    }
    function fixed(el, always) {
      el.style.visibility = "";
      var r = el.getBoundingClientRect();
      if (!always && clashes(r)) el.style.visibility = "hidden";
      else kept.push(r);
    }
    Array.prototype.forEach.call(box.querySelectorAll(".leaflet-tooltip.map-label-here"), function (el) { fixed(el, true); });
    Array.prototype.forEach.call(box.querySelectorAll(".map-label-grid span"), function (el) { fixed(el, false); });
    var mid = map.getSize().x / 2;
    var people = [], points = [];
    map.eachLayer(function (layer) {
      var tip = layer.getTooltip && layer.getTooltip();
      if (!tip || !tip.options.permanent || !layer.getLatLng || !tip.getElement() || /map-label-here/.test(tip.options.className)) return;
      (/map-label-person/.test(tip.options.className) ? people : points).push([layer, tip]);
    });
    people.concat(points).forEach(function (pair) {
      var layer = pair[0], tip = pair[1], el = tip.getElement();
      var east = map.latLngToContainerPoint(layer.getLatLng()).x > mid;
      var order = /map-label-person/.test(tip.options.className) ? ["top", "bottom", "right", "left"]
        : east ? ["left", "right", "top", "bottom"] : ["right", "left", "top", "bottom"];
      el.style.visibility = "";
      for (var i = 0; i < order.length; i++) {
        tip.options.direction = order[i];
        tip.options.offset = SIDES[order[i]];
        tip.update();
        var r = el.getBoundingClientRect();
        if (!clashes(r)) { kept.push(r); return; }
      }
      tip.options.direction = order[0];
      tip.options.offset = SIDES[order[0]];
      tip.update();
      el.style.visibility = "hidden";
    });
  }

  // Checkpoints as dots (or circles of their radius when `circles`), each with its name beside it.
  function checkpointLayers(data, circles) {
    var L = window.L;
    return (data.checkpoints || []).map(function (c) {
      var mark = circles
        ? L.circle([c.lat, c.lon], { radius: c.radius || 50, color: "#0d47a1", weight: 2 })
        : L.circleMarker([c.lat, c.lon], { radius: 7, weight: 2, color: "#0d47a1", fillColor: "#ffffff", fillOpacity: 1 });
      return mark.bindTooltip(text(c.name), pointLabel("map-label-point"));
    });
  }

  // "You are here": a button on the map; asked at once when the person has already allowed it.
  function youAreHere(map, data) {
    var L = window.L;
    var words = data.words || {};
    if (!window.Geolocate || !window.Geolocate.supported) return;
    var dot = null, ring = null;
    function show(lat, lon, accuracy) {
      if (!dot) {
        ring = L.circle([lat, lon], { radius: accuracy || 0, weight: 1, color: "#1565c0", fillOpacity: 0.1, interactive: false }).addTo(map);
        dot = L.circleMarker([lat, lon], { radius: 8, weight: 3, color: "#ffffff", fillColor: "#1565c0", fillOpacity: 1 })
          .bindTooltip(text(words.here || ""), { permanent: true, direction: "top", offset: [0, -8], className: "map-label map-label-here" })
          .addTo(map);
      }
      dot.setLatLng([lat, lon]);
      ring.setLatLng([lat, lon]).setRadius(accuracy || 0);
    }
    function locate(pan) {
      window.Geolocate.once(function (lat, lon, accuracy) {
        show(lat, lon, accuracy);
        if (pan) map.panTo([lat, lon]);
      }, function (why) {
        if (pan && why === "denied" && words.denied) button.title = words.denied;
      }, { maximumAge: 60000 });
    }
    var button;
    var Control = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        button = L.DomUtil.create("button", "map-locate");
        button.type = "button";
        button.textContent = words.locate || "⌖";
        L.DomEvent.disableClickPropagation(button);
        L.DomEvent.on(button, "click", function () { locate(true); });
        return button;
      }
    });
    map.addControl(new Control());
    if (navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then(function (state) {
        if (state.state === "granted") locate(false);
      }, function () {});
    }
  }

  // A map in `el`: tiles only when configured, the credit without Leaflet's prefix, a metric scale, "you are here".
  function make(el, data) {
    var L = window.L;
    el.hidden = false;
    var map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
    map.on("zoomend moveend", function () { declutter(map); });
    map.attributionControl.setPrefix(false);
    var tiles = el.getAttribute("data-tiles") || data.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19, attribution: text(data.credit || "") }).addTo(map);
    var scale = L.control.scale({ imperial: false, maxWidth: 120 });
    var words = data.words || {};
    if (words.m && words.km) {  // the scale in the page's words ("100 米")
      scale._updateMetric = function (maxMeters) {
        var metres = this._getRoundNum(maxMeters);
        var said = metres < 1000 ? words.m.replace("{n}", metres) : words.km.replace("{n}", metres / 1000);
        this._updateScale(this._mScale, said, metres / maxMeters);
      };
    }
    scale.addTo(map);
    youAreHere(map, data);
    el._pavMap = map;
    return map;
  }

  // Set the view to fit these layers (Leaflet cannot clip paths without a view), then add them.
  function show(map, layers, keepView, maxZoom) {
    if (!keepView) {
      var bounds = window.L.latLngBounds([]);
      layers.forEach(function (layer) {
        if (layer instanceof window.L.Circle) bounds.extend(layer.getLatLng());
        else bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng());
      });
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: maxZoom || 16 });
      else map.setView([30.25, 120.1], 13);
    }
    layers.forEach(function (layer) { layer.addTo(map); });
    declutter(map);
  }

  // The common map: labelled grids and checkpoints plus these extra layers, fitted to them all.
  function base(el, data, extra, maxZoom, circles) {
    var map = make(el, data);
    show(map, gridLayers(data).concat(checkpointLayers(data, circles), extra || []), false, maxZoom);
    return map;
  }

  // Something to draw: tiles, a grid, a checkpoint or a point (a dot on a blank map would tell nothing).
  function worthDrawing(el, data) {
    return !!(el.getAttribute("data-tiles") || data.tiles || (data.grids || []).length || (data.checkpoints || []).length);
  }

  window.pavMap = { data: readData, make: make, show: show, base: base, grids: gridLayers,
                    checkpoints: checkpointLayers, worthDrawing: worthDrawing, text: text,
                    pointLabel: pointLabel, declutter: declutter };

  // data-hazard-map: report markers (data.points) over the labelled grids and checkpoints.
  function hazardMap(el) {
    if (!window.L || el.getAttribute("data-ready")) return;
    var data = readData(el);
    if (!worthDrawing(el, data)) return;
    el.setAttribute("data-ready", "1");
    var markers = (data.points || []).map(function (p) {
      var marker = window.L.circleMarker([p.lat, p.lon], {
        radius: 11, weight: 3, color: p.overdue ? "#b71c1c" : "#e65100", fillOpacity: 0.6
      }).bindTooltip(text(p.label));
      if (p.url) marker.on("click", function () { window.location.href = p.url; });
      return marker;
    });
    base(el, data, markers, data.max_zoom || 16);
  }

  function setup(root) { root.querySelectorAll("[data-hazard-map]").forEach(hazardMap); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

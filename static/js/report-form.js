// data-report-form: fill the hidden lat/lon from the phone's GPS ("use my location") or from a tap on the
// map, show thumbnails of the chosen photos, refuse a report with no place before it is saved, and warn before
// sending more photos than allowed. The form works without any of it (type an address).
(function () {
  "use strict";

  function reportForm(form) {
    if (form.getAttribute("data-ready")) return;
    form.setAttribute("data-ready", "1");
    var status = form.querySelector("[data-location-status]");
    var marker = null, map = null;
    function say(key) { status.textContent = key ? status.getAttribute("data-msg-" + key) || "" : ""; }
    function place(lat, lon, accuracy) {
      form.elements.lat.value = lat.toFixed(6);
      form.elements.lon.value = lon.toFixed(6);
      form.elements.accuracy_m.value = accuracy == null ? "" : Math.round(accuracy * 10) / 10;
      if (map) {
        if (marker) marker.setLatLng([lat, lon]);
        else marker = window.L.circleMarker([lat, lon], { radius: 12, weight: 3, color: "#b71c1c" }).addTo(map);
        map.panTo([lat, lon]);
      }
      if (missing) missing.hidden = true;
    }

    var gps = form.querySelector("[data-use-location]");
    if (gps && window.Geolocate && window.Geolocate.supported) {
      gps.hidden = false;
      gps.addEventListener("click", function () {
        gps.disabled = true;
        say("locating");
        window.Geolocate.once(function (lat, lon, accuracy) {
          gps.disabled = false;
          place(lat, lon, accuracy);
          say("found");
        }, function (why) {
          gps.disabled = false;
          say(why);
        });
      });
    }

    var pick = form.querySelector("[data-pick-map]");
    if (pick && window.L && window.pavMap && window.pavMap.worthDrawing(pick, window.pavMap.data(pick))) {
      map = window.pavMap.base(pick, window.pavMap.data(pick), [], 16);
      var hint = form.querySelector("[data-pick-hint]");
      if (hint) hint.hidden = false;
      map.on("click", function (evt) { place(evt.latlng.lat, evt.latlng.lng, null); say("picked"); });
      if (form.elements.lat.value && form.elements.lon.value) {
        place(parseFloat(form.elements.lat.value), parseFloat(form.elements.lon.value),
              form.elements.accuracy_m.value ? parseFloat(form.elements.accuracy_m.value) : null);
      }
    }

    var picker = form.querySelector("[data-max-photos]");
    var count = form.querySelector("[data-photo-count]");
    function tooMany() {
      var n = 0;
      form.querySelectorAll("input[type=file][name=photo]").forEach(function (i) { n += i.files ? i.files.length : 0; });
      var over = picker && n > parseInt(picker.getAttribute("data-max-photos"), 10);
      if (count) count.textContent = over ? picker.getAttribute("data-msg-too-many") : "";
      return over;
    }
    // Thumbnails of the chosen photos, so the volunteer sees what goes with the report (offline too: blob URLs).
    var thumbs = form.querySelector("[data-photo-thumbs]");
    var shown = [];
    function showThumbs() {
      if (!thumbs || !window.URL || !URL.createObjectURL) return;
      shown.forEach(function (url) { URL.revokeObjectURL(url); });
      shown = [];
      thumbs.textContent = "";
      form.querySelectorAll("input[type=file][name=photo]").forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          if (!/^image\//.test(file.type)) return;
          var img = document.createElement("img");
          img.src = URL.createObjectURL(file);
          img.alt = file.name || "";
          shown.push(img.src);
          thumbs.appendChild(img);
        });
      });
      thumbs.hidden = shown.length === 0;
    }

    // A report needs a place (a GPS point, a tap on the map, or typed words): said before it is saved, since a
    // queued report without one would only be refused later, out of sight. The server stays the judge.
    var missing = form.querySelector("[data-location-missing]");
    function noPlace() {
      var point = form.elements.lat.value && form.elements.lon.value;
      var typed = form.elements.address && form.elements.address.value.trim();
      var none = !point && !typed;
      if (missing) missing.hidden = !none;
      return none;
    }
    form.addEventListener("change", function (evt) {
      if (evt.target.type === "file") { tooMany(); showThumbs(); }
    });
    form.addEventListener("input", function (evt) { if (evt.target.name === "address" && missing && !missing.hidden) noPlace(); });
    // A refused report brought back for fixing (pwa.js): its saved place goes back on the map.
    form.addEventListener("report:restored", function () {
      if (form.elements.lat.value && form.elements.lon.value) {
        var accuracy = parseFloat(form.elements.accuracy_m.value);
        place(parseFloat(form.elements.lat.value), parseFloat(form.elements.lon.value), isNaN(accuracy) ? null : accuracy);
      }
    });
    form.addEventListener("reset", function () { setTimeout(function () { showThumbs(); if (marker) { marker.remove(); marker = null; } }, 0); });
    // Capture phase: this runs before the outbox's own submit handler (pwa.js), which skips a prevented submit.
    form.addEventListener("submit", function (evt) {
      if (tooMany()) { evt.preventDefault(); return; }
      if (noPlace()) {
        evt.preventDefault();
        if (gps && !gps.hidden) gps.focus(); else if (form.elements.address) form.elements.address.focus();
        if (missing) missing.scrollIntoView({ block: "center" });
      }
    }, true);
  }

  function setup(root) { root.querySelectorAll("[data-report-form]").forEach(reportForm); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

// data-report-form: fill the hidden lat/lon from the phone's GPS ("use my location") or from a tap on the
// map, and refuse a report with no place before it is saved (the photos: photo-picker.js). The form works without
// any of it (type an address).
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
    if (gps && "geolocation" in navigator) {
      gps.hidden = false;
      gps.addEventListener("click", function () {
        gps.disabled = true;
        say("locating");
        navigator.geolocation.getCurrentPosition(function (pos) {
          gps.disabled = false;
          place(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
          say("found");
        }, function (err) {
          gps.disabled = false;
          say(err && err.code === 1 ? "denied" : "failed");
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
      });
    }

    var pick = form.querySelector("[data-pick-map]");
    if (pick && window.L && window.pavBaseMap) {
      map = window.pavBaseMap(pick, window.pavMapData(pick), [], 15);
      var hint = form.querySelector("[data-pick-hint]");
      if (hint) hint.hidden = false;
      map.on("click", function (evt) { place(evt.latlng.lat, evt.latlng.lng, null); say("picked"); });
      if (form.elements.lat.value && form.elements.lon.value) {
        place(parseFloat(form.elements.lat.value), parseFloat(form.elements.lon.value),
              form.elements.accuracy_m.value ? parseFloat(form.elements.accuracy_m.value) : null);
      }
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
    form.addEventListener("input", function (evt) { if (evt.target.name === "address" && missing && !missing.hidden) noPlace(); });
    // A refused report brought back for fixing (pwa.js): its saved place goes back on the map.
    form.addEventListener("report:restored", function () {
      if (form.elements.lat.value && form.elements.lon.value) {
        var accuracy = parseFloat(form.elements.accuracy_m.value);
        place(parseFloat(form.elements.lat.value), parseFloat(form.elements.lon.value), isNaN(accuracy) ? null : accuracy);
      }
    });
    form.addEventListener("reset", function () { setTimeout(function () { if (marker) { marker.remove(); marker = null; } }, 0); });
    // Capture phase: this runs before the outbox's own submit handler (pwa.js), which skips a prevented submit.
    form.addEventListener("submit", function (evt) {
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

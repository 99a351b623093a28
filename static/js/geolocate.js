// The one geolocation helper (window.Geolocate): where the phone is, once or as it moves, and why not when it fails.
// Used by the check-in button (app.js), a task's "done" evidence (task-done.js), the report form, the patrol
// (offline-patrol.js) and "you are here" on maps (map.js). Callers get (lat, lon, accuracy, pos) or a reason:
// "denied" (location switched off for the app) or "failed" (no fix in time), each with its own message on the page.
(function () {
  "use strict";
  var supported = "geolocation" in navigator;
  var HIGH = { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 };

  function reason(err) { return err && err.code === 1 ? "denied" : "failed"; }

  function options(extra) {
    var o = {};
    Object.keys(HIGH).forEach(function (k) { o[k] = HIGH[k]; });
    Object.keys(extra || {}).forEach(function (k) { o[k] = extra[k]; });
    return o;
  }

  // One fix: ok(lat, lon, accuracy, pos) or fail(reason, err).
  function once(ok, fail, extra) {
    if (!supported) { if (fail) fail("failed", null); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      ok(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy, pos);
    }, function (err) { if (fail) fail(reason(err), err); }, options(extra));
  }

  // Fixes as the phone moves; returns a function that stops them.
  function watch(ok, fail, extra) {
    if (!supported) return function () {};
    var id = navigator.geolocation.watchPosition(function (pos) {
      ok(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy, pos);
    }, function (err) { if (fail) fail(reason(err), err); }, options(extra));
    return function () { navigator.geolocation.clearWatch(id); };
  }

  // A form's hidden lat / lon / accuracy_m fields, filled from a fix (accuracy to 0.1 m; empty when unknown).
  function fill(form, lat, lon, accuracy) {
    form.elements.lat.value = lat;
    form.elements.lon.value = lon;
    if (form.elements.accuracy_m) form.elements.accuracy_m.value = accuracy == null ? "" : Math.round(accuracy * 10) / 10;
  }

  window.Geolocate = { supported: supported, once: once, watch: watch, fill: fill, reason: reason };
})();

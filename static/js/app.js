// Small enhancements on top of working HTML forms. Each is a data-* component, set up on htmx:load.
(function () {
  "use strict";
  var hasGeo = !!(window.Geolocate && window.Geolocate.supported);

  function statusEl(node) {
    var box = node.closest("#checkpoints") || document;
    return box.querySelector("[data-gps-status]");
  }

  function say(node, key) {
    var el = statusEl(node);
    if (el) el.textContent = key ? el.getAttribute("data-msg-" + key) || "" : "";
  }

  function locate(node, done) {
    say(node, "locating");
    window.Geolocate.once(function (lat, lon, accuracy, pos) {
      say(node, null);
      done(pos);
    }, function (why) { say(node, why); });
  }

  // One tap: find the phone's position, fill the hidden fields, send the check-in form.
  function gpsCheckin(button) {
    if (!hasGeo) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var form = button.form;
      button.disabled = true;
      locate(button, function (pos) {
        window.Geolocate.fill(form, pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
        form.elements.recorded_at.value = new Date().toISOString();
        form.elements.qr.value = "";
        button.disabled = false;
        form.requestSubmit();
      });
      setTimeout(function () { button.disabled = false; }, 20000);
    });
  }

  // Distances from where the volunteer stands, computed by the server for the list partial.
  function locateList(button) {
    if (!hasGeo || !window.htmx) return;
    button.hidden = false;
    function refresh() {
      locate(button, function (pos) {
        var url = button.getAttribute("data-url") + "?lat=" + pos.coords.latitude + "&lon=" + pos.coords.longitude;
        window.htmx.ajax("GET", url, { target: button.getAttribute("data-target"), swap: "outerHTML" });
      });
    }
    button.addEventListener("click", refresh);
    refresh();
  }

  function setup(root) {
    root.querySelectorAll("[data-gps-checkin]").forEach(gpsCheckin);
    root.querySelectorAll("[data-locate]").forEach(locateList);
  }

  // The phone's clock rides in a header, so queued bodies stay frozen while the server can spot skew.
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-Device-Time"] = new Date().toISOString();
  });
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { if (!window.htmx) setup(document); });
})();

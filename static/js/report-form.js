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
      checkNearby();
    }

    // Don't report it twice: open reports of this kind within 100 m, asked again when the place or the kind changes.
    // Offline the check cannot run; the report then goes as a new one, and the phone says so.
    var nearbyBox = form.querySelector("[data-nearby]");
    var asked = "";
    function checkNearby() {
      if (!nearbyBox || !window.fetch) return;
      var checked = form.querySelector("input[name=category]:checked");
      var lat = form.elements.lat.value, lon = form.elements.lon.value;
      if (!checked || !lat || !lon) return;
      var url = nearbyBox.getAttribute("data-nearby-url") + "?lat=" + encodeURIComponent(lat) + "&lon=" +
        encodeURIComponent(lon) + "&category=" + encodeURIComponent(checked.value);
      if (url === asked) return;
      asked = url;
      fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
        .then(function (html) { if (asked === url) nearbyBox.innerHTML = html; })
        .catch(function () {
          if (asked !== url) return;
          asked = "";
          nearbyBox.textContent = "";
          var p = document.createElement("p");
          p.className = "notice notice-warning";
          p.setAttribute("role", "status");
          p.setAttribute("data-nearby-offline", "");
          p.textContent = nearbyBox.getAttribute("data-msg-offline");
          nearbyBox.appendChild(p);
        });
    }
    // "This is it": the same form goes (through the outbox like any report) with same_as, and joins that report.
    form.addEventListener("click", function (evt) {
      var same = evt.target.closest && evt.target.closest("[data-same-as]");
      if (!same) return;
      evt.preventDefault();
      var hidden = form.querySelector("input[type=hidden][name=same_as]");
      if (!hidden) {
        hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "same_as";
        form.appendChild(hidden);
      }
      hidden.value = same.value;
      if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true }));
    });

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
      if (evt.target.name === "category") checkNearby();
    });
    form.addEventListener("input", function (evt) { if (evt.target.name === "address" && missing && !missing.hidden) noPlace(); });
    // A refused report brought back for fixing (pwa.js): its saved place goes back on the map.
    form.addEventListener("report:restored", function () {
      if (form.elements.lat.value && form.elements.lon.value) {
        var accuracy = parseFloat(form.elements.accuracy_m.value);
        place(parseFloat(form.elements.lat.value), parseFloat(form.elements.lon.value), isNaN(accuracy) ? null : accuracy);
      }
    });
    form.addEventListener("reset", function () {
      setTimeout(function () {
        if (marker) { marker.remove(); marker = null; }
        var same = form.querySelector("input[type=hidden][name=same_as]");
        if (same) same.remove();
        if (nearbyBox) { nearbyBox.textContent = ""; asked = ""; }
      }, 0);
    });
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

// data-task-gps: on a task's "done" form, one tap fills the hidden lat/lon/accuracy_m with the phone's position,
// so the check-in at the post is evidence. Without GPS or JS the button stays hidden and "Done" still works.
(function () {
  "use strict";
  if (!window.Geolocate || !window.Geolocate.supported) return;

  function say(form, key) {
    var el = form.querySelector("[data-task-gps-status]");
    if (el) el.textContent = key ? el.getAttribute("data-msg-" + key) || "" : "";
  }

  function setup(button) {
    if (button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      var form = button.form;
      button.disabled = true;
      say(form, "locating");
      window.Geolocate.once(function (lat, lon, accuracy) {
        window.Geolocate.fill(form, lat, lon, accuracy);
        say(form, "found");
        button.disabled = false;
      }, function (why) {
        say(form, why);
        button.disabled = false;
      });
    });
  }

  function scan(root) { root.querySelectorAll("[data-task-gps]").forEach(setup); }
  document.addEventListener("htmx:load", function (evt) { scan(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
})();

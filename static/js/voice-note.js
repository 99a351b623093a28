// data-voice-note: 按住说话 on the report form and a task's "done" card. Press and hold to record (let go to stop),
// or, with the tap box ticked, tap to start and tap again to stop; at most a minute. The recording goes into the
// form's hidden file field `voice`, so the outbox keeps it with the rest of the form (offline too). Shown only
// where the phone has a microphone API and MediaRecorder; the form works without it. Loaded only by the pages
// that have such a form, never by the home page.
(function () {
  "use strict";
  // Opus first (Chrome, Firefox; small for speech), AAC in MP4 where that is all there is (Safari).
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4;codecs=mp4a.40.2",
               "audio/mp4"];
  var EXT = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" };
  var MIN_MS = 700;
  var TAP_KEY = "voice-tap-mode";

  function supported() {
    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return null;
    try { new DataTransfer(); } catch (e) { return null; }  // the recording is handed to the form through it
    for (var i = 0; i < TYPES.length; i++) {
      if (!MediaRecorder.isTypeSupported || MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    }
    return null;
  }

  function recorder(box, type) {
    if (box.getAttribute("data-ready")) return;
    box.setAttribute("data-ready", "1");
    var form = box.closest("form");
    var input = box.querySelector("[data-voice-input]");
    var button = box.querySelector("[data-voice-record]");
    var tapBox = box.querySelector("[data-voice-tap-mode]");
    var status = box.querySelector("[data-voice-status]");
    var controls = box.querySelector("[data-voice-controls]");
    var clip = box.querySelector("[data-voice-clip]");
    var length = box.querySelector("[data-voice-length]");
    var play = box.querySelector("[data-voice-play]");
    var del = box.querySelector("[data-voice-delete]");
    var maxMs = parseInt(box.getAttribute("data-max-seconds"), 10) * 1000 || 60000;
    var bitrate = parseInt(box.getAttribute("data-bitrate"), 10) || 16000;
    var state = "idle";  // idle → starting → recording → idle
    var held = false, stream = null, rec = null, chunks = [], startedAt = 0, ticker = null, limitHit = false;
    var audio = null, url = null;

    function msg(key, seconds) {
      var text = box.getAttribute("data-msg-" + key) || "";
      return seconds == null ? text : text.replace("{s}", String(seconds));
    }
    function say(key, seconds) { status.textContent = key ? msg(key, seconds) : ""; }
    function tapMode() { return tapBox.checked; }
    function label() {
      var key = state === "idle" ? (tapMode() ? "tap" : "hold") : (tapMode() ? "stop" : "release");
      button.textContent = button.getAttribute("data-label-" + key);
      button.classList.toggle("recording", state !== "idle");
    }
    try { tapBox.checked = localStorage.getItem(TAP_KEY) === "1"; } catch (e) { /* private mode */ }
    tapBox.addEventListener("change", function () {
      try { localStorage.setItem(TAP_KEY, tapBox.checked ? "1" : "0"); } catch (e) { /* private mode */ }
      label();
    });

    function release() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });  // the phone's mic light goes off
      stream = null;
      clearInterval(ticker);
    }

    function start() {
      if (state !== "idle") return;
      state = "starting";
      label();
      say("starting");
      navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true,
                                                     autoGainControl: true } }).then(function (got) {
        stream = got;
        if (!held) { state = "idle"; release(); label(); say("too-short"); return; }  // let go while it was asked
        chunks = [];
        limitHit = false;
        rec = new MediaRecorder(stream, { mimeType: type, audioBitsPerSecond: bitrate });
        rec.ondataavailable = function (evt) { if (evt.data && evt.data.size) chunks.push(evt.data); };
        rec.onstop = finish;
        rec.start();
        startedAt = Date.now();
        state = "recording";
        label();
        tick();
        ticker = setInterval(tick, 250);
      }, function (err) {
        state = "idle";
        release();
        label();
        say(err && (err.name === "NotAllowedError" || err.name === "SecurityError") ? "denied" : "failed");
      });
    }

    function tick() {
      var ms = Date.now() - startedAt;
      if (ms >= maxMs) { limitHit = true; stop(); return; }
      var left = Math.ceil((maxMs - ms) / 1000);
      say(left <= 10 ? "left" : "recording", left <= 10 ? left : Math.floor(ms / 1000));
    }

    function stop() {
      held = false;
      if (state === "recording" && rec && rec.state !== "inactive") rec.stop();
    }

    function finish() {
      var ms = Math.min(Date.now() - startedAt, maxMs);
      var mime = (rec.mimeType || type).split(";")[0];
      release();
      state = "idle";
      label();
      if (ms < MIN_MS || !chunks.length) { say("too-short"); return; }
      var seconds = Math.max(1, Math.round(ms / 1000));
      var blob = new Blob(chunks, { type: mime });
      chunks = [];
      keep(new File([blob], "voice-" + seconds + "s." + (EXT[mime] || "webm"), { type: mime }));
      if (limitHit) say("limit");
    }

    // The recording goes into the form's own file field: the outbox (pwa.js) then keeps it like a photo.
    function keep(file) {
      var dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
      show();
    }

    function secondsOf(file) {
      var m = /voice-(\d+)s\./.exec(file.name || "");
      return m ? parseInt(m[1], 10) : null;
    }

    function show() {
      stopPlaying();
      var file = input.files && input.files[0];
      clip.hidden = !file;
      controls.hidden = !!file;
      if (!file) { length.textContent = ""; return; }
      var seconds = secondsOf(file);
      length.textContent = seconds == null ? msg("saved-note") : msg("length", seconds);
      say(null);
    }

    function stopPlaying() {
      if (audio) { audio.pause(); audio = null; }
      if (url) { URL.revokeObjectURL(url); url = null; }
      play.textContent = play.getAttribute("data-label-play");
    }

    play.addEventListener("click", function () {
      if (audio) { stopPlaying(); return; }
      var file = input.files && input.files[0];
      if (!file) return;
      url = URL.createObjectURL(file);
      audio = new Audio(url);
      audio.onended = stopPlaying;
      play.textContent = play.getAttribute("data-label-stop");
      audio.play().catch(stopPlaying);
    });

    del.addEventListener("click", function () {
      input.value = "";
      show();
      button.focus();
    });

    // Press and hold; the finger may slide off the button (pointer capture) and still stop on release.
    button.addEventListener("pointerdown", function (evt) {
      if (tapMode() || (evt.pointerType === "mouse" && evt.button !== 0)) return;
      evt.preventDefault();
      if (button.setPointerCapture) try { button.setPointerCapture(evt.pointerId); } catch (e) { /* fine */ }
      held = true;
      start();
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      button.addEventListener(name, function () { if (!tapMode()) stop(); });
    });
    button.addEventListener("contextmenu", function (evt) { evt.preventDefault(); });  // a long press is not a menu
    // Tap mode, and a keyboard's Enter/Space (a click with no pointer) in either mode.
    button.addEventListener("click", function (evt) {
      if (!tapMode() && evt.detail !== 0) return;
      if (state === "idle") { held = true; start(); } else stop();
    });

    input.addEventListener("change", show);  // a refused report brought back for fixing (pwa.js restore)
    if (form) form.addEventListener("reset", function () { setTimeout(show, 0); });  // queued: ready for the next

    label();
    show();
    box.hidden = false;
  }

  function setup(root) {
    var boxes = root.querySelectorAll ? root.querySelectorAll("[data-voice-note]") : [];
    if (!boxes.length) return;
    var type = supported();
    if (!type) return;  // no recorder: the box stays hidden, the form works as before
    Array.prototype.forEach.call(boxes, function (box) { recorder(box, type); });
  }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
})();

// 扫码签到 on the patrol screen: the rear camera in a full-screen overlay reads the poster's QR (BarcodeDetector where
// the browser has it, else the vendored jsQR, loaded only then) and hands the code to offline-patrol.js as a
// "patrol:code" event, which checks in exactly like a typed code. Every way out stops the camera.
(function () {
  "use strict";
  var GIVE_UP_MS = 30000;  // no QR seen in this long: say so, stop the camera, offer typing
  var EVERY_MS = 150;      // between two looks at the picture (a cheap phone needs ~50 ms for one with jsQR)
  var LONG_EDGE = 640;     // jsQR reads a downscaled frame: a poster's QR fills much of it, and it is 4× faster

  // A poster link (https://host/c/PAV1-12-ABCDEFGHJK) or the bare code text; null when it is neither.
  function codeFromText(text) {
    text = String(text || "").trim();
    var link = text.match(/\/c\/([^\/?#\s]+)/);
    if (link) {
      try { text = decodeURIComponent(link[1]); } catch (e) { text = link[1]; }
    }
    var code = text.toUpperCase().replace(/\s+/g, "").match(/PAV[1I]-*\d+-*[A-Z0-9]{10}(?![A-Z0-9])/);
    return code ? code[0] : null;
  }

  var jsQRLoading = null;
  function loadJsQR(src) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsQRLoading) {
      jsQRLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR missing")); };
        script.onerror = function () { jsQRLoading = null; reject(new Error("jsQR not loaded")); };
        document.head.appendChild(script);
      });
    }
    return jsQRLoading;
  }

  // The text of a QR in an ImageData (jsQR), or null.
  function decodeImageData(image) {
    var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  // A function (video → promise of the QR text or null), and which decoder it uses.
  function makeDecoder(jsqrSrc) {
    var native = "BarcodeDetector" in window ? Promise.resolve(
      window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : ["qr_code"]
    ).then(function (formats) {
      return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    }).catch(function () { return null; }) : Promise.resolve(null);
    return native.then(function (detector) {
      if (detector) {
        return { kind: "barcodedetector", read: function (video) {
          return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        } };
      }
      return loadJsQR(jsqrSrc).then(function () {
        var canvas = document.createElement("canvas");
        var context = canvas.getContext("2d", { willReadFrequently: true });
        return { kind: "jsqr", read: function (video) {
          var w = video.videoWidth, h = video.videoHeight;
          if (!w || !h) return Promise.resolve(null);
          var scale = Math.min(1, LONG_EDGE / Math.max(w, h));
          canvas.width = Math.round(w * scale);
          canvas.height = Math.round(h * scale);
          context.drawImage(video, 0, 0, canvas.width, canvas.height);
          return Promise.resolve(decodeImageData(context.getImageData(0, 0, canvas.width, canvas.height)));
        } };
      });
    });
  }

  function setup(button) {
    if (button.dataset.scanReady) return;
    button.dataset.scanReady = "1";
    var overlay = document.querySelector("[data-scan-overlay]");
    var video = overlay.querySelector("video");
    var hint = overlay.querySelector("[data-scan-hint]");
    var status = document.querySelector("[data-scan-status]");
    var codeInput = document.getElementById("app-code");
    var stream = null, timer = null, giveUp = null, session = 0;
    function msg(name) { return button.getAttribute("data-msg-" + name) || ""; }
    function say(text) {
      status.textContent = text;
      status.className = text ? "notice notice-error" : "";
    }

    function stopCamera() {
      session += 1;  // anything still on its way (a late getUserMedia, a decode) belongs to a closed scan
      clearTimeout(timer);
      clearTimeout(giveUp);
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
    }
    function close(why) {
      stopCamera();
      overlay.hidden = true;
      document.documentElement.classList.remove("scanning");
      if (why) {
        say(msg(why));
        codeInput.focus();
      } else {
        button.focus();
      }
    }

    function found(text) {
      var code = codeFromText(text);
      if (!code) {  // someone else's QR (a shop's, a payment code): say so and keep looking
        hint.textContent = msg("not-ours");
        return false;
      }
      close();
      say("");
      if (navigator.vibrate) navigator.vibrate(80);
      document.dispatchEvent(new CustomEvent("patrol:code", { detail: { code: code } }));
      return true;
    }

    function open() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(msg("no-camera")); codeInput.focus(); return; }
      var mine = ++session;
      say("");
      hint.textContent = msg("aim");
      overlay.hidden = false;
      document.documentElement.classList.add("scanning");
      overlay.querySelector("[data-scan-close]").focus();
      var decoder = makeDecoder(button.getAttribute("data-jsqr"));
      navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false }).then(function (s) {
        if (mine !== session) { s.getTracks().forEach(function (track) { track.stop(); }); return null; }
        stream = s;
        video.srcObject = s;
        return Promise.all([video.play(), decoder]);
      }).then(function (ready) {
        if (!ready || mine !== session) return;
        var read = ready[1].read;
        overlay.dataset.decoder = ready[1].kind;
        var patience = Number(button.getAttribute("data-give-up-ms")) || GIVE_UP_MS;
        giveUp = setTimeout(function () { if (mine === session) close("timeout"); }, patience);
        (function look() {
          read(video).then(function (text) {
            if (mine !== session || (text && found(text))) return;
            timer = setTimeout(look, EVERY_MS);
          }, function () { if (mine === session) timer = setTimeout(look, EVERY_MS); });
        })();
      }).catch(function (err) {
        if (mine !== session) return;
        var name = err && err.name;
        close(name === "NotAllowedError" || name === "SecurityError" ? "denied"
          : name === "NotFoundError" || name === "OverconstrainedError" ? "no-camera" : "failed");
      });
    }

    button.hidden = false;
    button.addEventListener("click", open);
    overlay.querySelector("[data-scan-close]").addEventListener("click", function () { close(); });
    overlay.querySelector("[data-scan-type]").addEventListener("click", function () { close(); codeInput.focus(); });
    document.addEventListener("keydown", function (evt) { if (evt.key === "Escape" && !overlay.hidden) close(); });
    // A hidden page keeps no camera: the phone's other apps need it, and the battery too.
    document.addEventListener("visibilitychange", function () { if (document.hidden && !overlay.hidden) close(); });
  }

  window.PatrolScan = { codeFromText: codeFromText, loadJsQR: loadJsQR, decodeImageData: decodeImageData };
  document.querySelectorAll("[data-scan]").forEach(setup);
})();

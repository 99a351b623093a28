// Web NFC (Chrome on Android; hidden wherever 'NDEFReader' is missing). A checkpoint's tag holds the same link as its
// poster's QR, as one NDEF url record. On the patrol screen, while a patrol runs, a touched tag checks in through the
// same "patrol:code" event as the scanner; on a checkpoint's page the coordinator or officer writes the tag.
(function () {
  "use strict";
  var supported = "NDEFReader" in window;
  var WRITE_WAIT_MS = 30000;

  // The NDEF message written to a checkpoint's tag: its poster link.
  function message(url) {
    return { records: [{ recordType: "url", data: url }] };
  }

  function recordText(record) {
    if (!record || record.data == null) return "";
    if (typeof record.data === "string") return record.data;
    try { return new TextDecoder(record.encoding || "utf-8").decode(record.data); } catch (e) { return ""; }
  }

  // The checkpoint code in a read NDEF message (a url, absolute-url or text record), or null.
  function codeFrom(ndef) {
    var records = (ndef && ndef.records) || [];
    for (var i = 0; i < records.length; i++) {
      if (["url", "absolute-url", "text"].indexOf(records[i].recordType) < 0) continue;
      var code = window.PatrolScan.codeFromText(recordText(records[i]));
      if (code) return code;
    }
    return null;
  }

  window.PatrolNfc = { supported: supported, message: message, codeFrom: codeFrom };
  if (!supported) return;

  // The patrol screen: listen while the patrol runs (the code form is shown exactly then).
  function listen(button) {
    var form = document.querySelector("[data-app-code]");
    var status = document.querySelector("[data-nfc-status]");
    var scanning = null;
    function msg(name) { return button.getAttribute("data-msg-" + name) || ""; }
    function say(text, error) {
      status.textContent = text;
      status.className = text ? (error ? "notice notice-error" : "notice notice-success") : "";
    }
    function stop() {
      if (scanning) scanning.abort();
      scanning = null;
      say("");
    }
    function start() {
      if (scanning || form.hidden) return;
      scanning = new AbortController();
      var signal = scanning.signal;
      var reader = new window.NDEFReader();
      reader.addEventListener("reading", function (evt) {
        var code = codeFrom(evt.message);
        if (!code) { say(msg("not-ours"), true); return; }
        say(msg("on"));
        if (navigator.vibrate) navigator.vibrate(80);
        document.dispatchEvent(new CustomEvent("patrol:code", { detail: { code: code } }));
      });
      reader.addEventListener("readingerror", function () { say(msg("unreadable"), true); });
      reader.scan({ signal: signal }).then(function () {
        button.hidden = true;
        say(msg("on"));
      }, function (err) {
        if (signal.aborted) return;
        scanning = null;
        button.hidden = false;
        say(msg(err && err.name === "NotAllowedError" ? "denied" : "off"), true);
      });
    }
    function follow() {
      if (form.hidden) { stop(); button.hidden = true; } else if (!scanning) { button.hidden = false; }
    }
    var granted = false;
    button.addEventListener("click", start);
    // Asking for NFC needs a tap; once allowed, the tag works from the start of every patrol.
    new MutationObserver(function () {
      follow();
      if (!form.hidden && !scanning && granted) start();
    }).observe(form, { attributes: true, attributeFilter: ["hidden"] });
    if (navigator.permissions) {
      navigator.permissions.query({ name: "nfc" }).then(function (p) {
        granted = p.state === "granted";
        if (granted) start();
      }, function () {});
    }
    follow();
  }

  // A checkpoint's page: write its link onto a blank or old tag.
  function writer(button) {
    var status = document.querySelector("[data-nfc-write-status]");
    function msg(name) { return button.getAttribute("data-msg-" + name) || ""; }
    function say(text, error) {
      status.textContent = text;
      status.className = text ? (error ? "notice notice-error" : "notice notice-success") : "";
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var waiting = new AbortController();
      var late = setTimeout(function () { waiting.abort(); }, WRITE_WAIT_MS);
      button.disabled = true;
      say(msg("hold"));
      new window.NDEFReader().write(message(button.getAttribute("data-nfc-write")), { overwrite: true, signal: waiting.signal })
        .then(function () { say(msg("written")); }, function (err) {
          say(msg(waiting.signal.aborted ? "no-tag" : err && err.name === "NotAllowedError" ? "denied" : "failed"), true);
        })
        .then(function () { clearTimeout(late); button.disabled = false; });
    });
  }

  document.querySelectorAll("[data-nfc-listen]").forEach(listen);
  document.querySelectorAll("[data-nfc-write]").forEach(writer);
})();

// data-read-aloud="<selector>": 朗读 reads that element's text with the phone's own voice (speechSynthesis), in the
// page's language (zh-CN). Shown only where the phone has such a voice; a second tap stops it.
(function () {
  "use strict";
  var synth = window.speechSynthesis;
  if (!synth || !window.SpeechSynthesisUtterance) return;
  var lang = document.documentElement.lang || "zh-CN";
  var current = null;

  function voice() {
    var voices = synth.getVoices() || [], want = lang.toLowerCase(), family = want.split("-")[0];
    var norm = function (v) { return String(v.lang || "").replace("_", "-").toLowerCase(); };
    return voices.filter(function (v) { return norm(v) === want; })[0]
      || voices.filter(function (v) { return norm(v).split("-")[0] === family; })[0] || null;
  }

  function label(button, reading) {
    if (!button.getAttribute("data-msg-read")) button.setAttribute("data-msg-read", button.textContent);
    button.textContent = button.getAttribute(reading ? "data-msg-stop" : "data-msg-read");
    button.setAttribute("aria-pressed", String(reading));
  }

  function stop() {
    if (current) label(current, false);
    current = null;
    synth.cancel();
  }

  function read(button) {
    if (current === button) { stop(); return; }
    stop();
    var target = document.querySelector(button.getAttribute("data-read-aloud"));
    var text = target ? (target.innerText || target.textContent || "").trim() : "";
    var v = voice();
    if (!text || !v) return;
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    utterance.voice = v;
    utterance.rate = 0.9;  // a little slower than the phone's default, for older ears
    utterance.onend = utterance.onerror = function () { if (current === button) { label(button, false); current = null; } };
    current = button;
    label(button, true);
    synth.speak(utterance);
  }

  function setup(root) {
    var has = !!voice();
    root.querySelectorAll("[data-read-aloud]").forEach(function (button) {
      button.hidden = !has;
      if (button.getAttribute("data-ready")) return;
      button.setAttribute("data-ready", "1");
      button.addEventListener("click", function () { read(button); });
    });
  }

  // The phone's voices often arrive a moment after the page: look again when they do.
  if (synth.addEventListener) synth.addEventListener("voiceschanged", function () { setup(document); });
  window.addEventListener("pagehide", stop);
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
})();

// 大字: a switch that makes the whole app's type larger (every size is in rem), remembered on this phone. Loaded in
// <head> without defer, so the class is on <html> before the first paint (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var KEY = "text-size", html = document.documentElement;
  function large() { try { return localStorage.getItem(KEY) === "large"; } catch (e) { return false; } }
  html.classList.toggle("large-text", large());
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-text-size]").forEach(function (button) {
      button.hidden = false;
      button.setAttribute("aria-pressed", String(large()));
      button.addEventListener("click", function () {
        var on = !html.classList.contains("large-text");
        html.classList.toggle("large-text", on);
        try { localStorage.setItem(KEY, on ? "large" : "normal"); } catch (e) { /* private mode: this visit only */ }
        button.setAttribute("aria-pressed", String(on));
      });
    });
  });
})();

// data-photo-picker (templates/macros/photos.html): 拍照 and 从相册选 instead of the browser's file controls, and a
// thumbnail of each chosen photo with the size it will be sent at (shrunk here, long edge ≤ 1600 px, as the outbox
// sends it) and a × to take it out. The chosen photos live in the form's one named file input, so the outbox (pwa.js)
// and a plain post send exactly what is shown. Without JavaScript or DataTransfer the plain file input stays.
(function () {
  "use strict";
  var LONG_EDGE = 1600;

  function canSetFiles() {
    try { return !!(window.DataTransfer && new DataTransfer().items && window.URL && URL.createObjectURL); } catch (e) { return false; }
  }

  function picker(box) {
    if (box.getAttribute("data-ready") || !canSetFiles()) return;
    box.setAttribute("data-ready", "1");
    var input = box.querySelector("[data-photo-input]");
    var camera = box.querySelector("[data-photo-camera]");
    var thumbs = box.querySelector("[data-photo-thumbs]");
    var count = box.querySelector("[data-photo-count]");
    var max = parseInt(box.getAttribute("data-max-photos"), 10) || 1;
    var shrink = (window.VolunteersApp && window.VolunteersApp.shrink) || function (f) { return Promise.resolve(f); };
    var chosen = [];  // {file, url, size}: size is null while the photo is being shrunk
    function msg(key) { return box.getAttribute("data-msg-" + key) || ""; }

    input.hidden = true;
    box.querySelector("[data-photo-buttons]").hidden = false;
    box.querySelector("[data-photo-take]").addEventListener("click", function () { camera.click(); });
    box.querySelector("[data-photo-choose]").addEventListener("click", function () { input.click(); });

    function sync() {
      var dt = new DataTransfer();
      chosen.forEach(function (c) { dt.items.add(c.file); });
      input.files = dt.files;
      render();
    }

    function render() {
      thumbs.textContent = "";
      chosen.forEach(function (c) {
        var fig = document.createElement("figure");
        fig.className = "thumb";
        var img = document.createElement("img");
        img.src = c.url;
        img.alt = c.file.name || "";
        var size = document.createElement("figcaption");
        size.setAttribute("data-photo-size", "");
        size.textContent = c.size == null ? "…" : msg("size").replace("{size}", Math.max(1, Math.round(c.size / 1024)));
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "thumb-remove";
        remove.setAttribute("data-photo-remove", "");
        remove.setAttribute("aria-label", msg("remove"));
        remove.textContent = "×";
        remove.addEventListener("click", function () { drop(c); count.textContent = ""; });
        [img, size, remove].forEach(function (el) { fig.appendChild(el); });
        thumbs.appendChild(fig);
      });
      thumbs.hidden = chosen.length === 0;
    }

    function drop(c) {
      var at = chosen.indexOf(c);
      if (at < 0) return;
      chosen.splice(at, 1);
      URL.revokeObjectURL(c.url);
      sync();
    }

    function add(files) {
      var picked = Array.prototype.filter.call(files || [], function (f) { return f.size && (!f.type || /^image\//.test(f.type)); });
      if (!picked.length) { sync(); return; }  // a cancelled chooser: keep what was chosen
      if (max === 1) { chosen.slice().forEach(drop); picked = picked.slice(-1); }
      var room = max - chosen.length;
      count.textContent = picked.length > room ? msg("too-many") : "";
      picked.slice(0, Math.max(0, room)).forEach(function (file) {
        var c = { file: file, url: URL.createObjectURL(file), size: null };
        chosen.push(c);
        shrink(file, LONG_EDGE).then(function (small) {
          if (chosen.indexOf(c) < 0) return;
          URL.revokeObjectURL(c.url);
          c.file = small;
          c.url = URL.createObjectURL(small);
          c.size = small.size;
          sync();
        });
      });
      sync();
    }

    input.addEventListener("change", function () { add(input.files); });
    camera.addEventListener("change", function () { add(camera.files); camera.value = ""; });
    if (input.files && input.files.length) add(input.files);  // kept by the browser on a back/forward visit
    if (input.form) input.form.addEventListener("reset", function () {
      chosen.forEach(function (c) { URL.revokeObjectURL(c.url); });
      chosen = [];
      count.textContent = "";
      setTimeout(render, 0);
    });
  }

  function setup(root) { root.querySelectorAll("[data-photo-picker]").forEach(picker); }
  document.addEventListener("htmx:load", function (evt) { setup(evt.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
})();

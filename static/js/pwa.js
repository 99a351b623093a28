// The app on the phone: registers the service worker, keeps the outbox flowing, shows what waits,
// captures forms marked data-outbox into the outbox, and clears this person's data on logout.
(function () {
  "use strict";
  var Outbox = window.Outbox;
  var body = document.body;
  var user = body.getAttribute("data-user");
  var csrf = body.getAttribute("data-csrf");
  if (!Outbox || !window.indexedDB) return;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    // A page whose load began while the worker was still installing can miss its clients.claim()
    // (a Chromium race, seen in CI): ask the active worker to claim again, so this very page works offline.
    navigator.serviceWorker.ready.then(function (reg) {
      if (!navigator.serviceWorker.controller && reg.active) reg.active.postMessage({ type: "claim" });
    });
    var warmUrls = body.getAttribute("data-warm");
    var warmKey = "warmed:" + user;
    if (user && warmUrls && !sessionStorage.getItem(warmKey)) {  // once per visit, not on every page
      sessionStorage.setItem(warmKey, "1");
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.active) reg.active.postMessage({ type: "warm", urls: JSON.parse(warmUrls) });
      });
    }
  }

  // The service worker flushes too (Background Sync), so it needs to know whose outbox and which token.
  var ready = user ? Promise.all([Outbox.setMeta("user", Number(user)), Outbox.setMeta("csrf", csrf)]) : Promise.resolve();

  function text(el, key) { return el.getAttribute("data-msg-" + key) || ""; }

  // --- the count badge and the outbox page ---------------------------------------------------------
  function refreshBadges() {
    if (!user) return;
    Outbox.list(Number(user)).then(function (rows) {
      document.querySelectorAll("[data-outbox-badge]").forEach(function (badge) { badge.textContent = String(rows.length); });
      document.querySelectorAll("[data-outbox-link]").forEach(function (link) { link.hidden = rows.length === 0; });
      document.querySelectorAll("[data-outbox-list]").forEach(function (box) { renderList(box, rows); });
    });
  }

  function renderList(box, rows) {
    var list = box.querySelector("ol");
    var empty = box.querySelector("[data-outbox-empty]");
    list.textContent = "";
    empty.hidden = rows.length > 0;
    rows.forEach(function (row) {
      var li = document.createElement("li");
      li.className = "row outbox-item outbox-" + row.state;
      li.setAttribute("data-seq", row.seq);
      var title = document.createElement("strong");
      title.textContent = row.label;
      var state = document.createElement("span");
      state.className = "muted outbox-state";
      state.textContent = text(box, row.state) + " · " + new Date(row.created_at).toLocaleString();
      li.appendChild(title);
      li.appendChild(document.createElement("br"));
      li.appendChild(state);
      if (row.last_error && row.last_error !== "offline") {
        var err = document.createElement("p");
        err.className = row.state === "stuck" ? "notice notice-error" : "small muted";
        err.setAttribute("data-outbox-error", "");
        err.textContent = row.last_error;
        li.appendChild(err);
      }
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "button";
      retry.textContent = text(box, "retry");
      retry.addEventListener("click", function () { Outbox.retry(row.seq); });
      var del = document.createElement("button");
      del.type = "button";
      del.className = "button danger";
      del.textContent = text(box, "delete");
      del.addEventListener("click", function () {
        if (window.confirm(text(box, "confirm-delete"))) Outbox.remove(row.seq);
      });
      // A plain waiting item needs nothing from the person; a refused or failing one offers both choices.
      if (row.state === "stuck" || row.attempts > 0) {
        li.appendChild(retry);
        li.appendChild(del);
      }
      list.appendChild(li);
    });
  }

  Outbox.on(function (event) {
    if (event.type !== "flushed") refreshBadges();
  });

  // --- forms captured into the outbox ------------------------------------------------------------------
  // Photos are shrunk on the phone first, so six of them stay small in the queue and on a weak signal.
  function shrink(file, longEdge) {
    if (!/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.82);
      });
    }, function () { return file; });
  }

  function formParts(form) {
    var parts = [];
    var jobs = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token") return;
      if (value instanceof File) {
        if (!value.size) return;
        var slot = parts.length;
        parts.push(null);
        jobs.push(shrink(value, 1600).then(function (blob) {
          parts[slot] = [name, blob, (value.name || "photo").replace(/\.[^.]*$/, "") + ".jpg"];
        }));
      } else {
        parts.push([name, value]);
      }
    });
    return Promise.all(jobs).then(function () { return parts; });
  }

  function captureForm(form) {
    form.addEventListener("submit", function (evt) {
      if (evt.defaultPrevented) return;  // another component (e.g. too many photos) said no
      evt.preventDefault();
      var status = form.querySelector("[data-outbox-status]");
      var button = form.querySelector("[type=submit]");
      if (button) button.disabled = true;
      formParts(form).then(function (parts) {
        var clientId = (form.elements.client_id && form.elements.client_id.value) || Outbox.newId();
        return ready.then(function () {
          return Outbox.add({
            user: Number(user), client_id: clientId, kind: form.getAttribute("data-outbox"),
            label: form.getAttribute("data-outbox-label") || form.getAttribute("data-outbox"),
            url: form.getAttribute("data-outbox-url"), parts: parts
          });
        });
      }).then(function (item) {
        if (status) { status.hidden = false; status.className = "notice notice-success"; status.textContent = text(form, "saved"); }
        watchItem(item, form);
        // Ready for the next one: a fresh client_id, so a second report is never taken for a retry of the first.
        form.reset();
        if (form.elements.client_id) form.elements.client_id.value = Outbox.newId();
        if (button) button.disabled = false;
        Outbox.flush({ now: true });
      }).catch(function () {
        if (button) button.disabled = false;
        if (status) { status.hidden = false; status.textContent = text(form, "failed"); }
      });
    });
  }

  // When the item goes through while the person is still looking, take them to what they made;
  // when the server refuses it, say why right here (the item also stays listed on the outbox page).
  function watchItem(item, form) {
    Outbox.on(function (event) {
      if (!event.item || event.item.client_id !== item.client_id) return;
      var status = form.querySelector("[data-outbox-status]");
      if (event.type === "sent") {
        var next = form.getAttribute("data-outbox-next");
        if (next && event.response && event.response.id != null) window.location.assign(next.replace("{id}", event.response.id));
      } else if (event.type === "stuck" && status) {
        status.className = "notice notice-error";
        status.textContent = event.item.last_error;
        var button = form.querySelector("[type=submit]");
        if (button) button.disabled = false;
      }
    });
  }

  // --- logging out clears this person's outbox and cached pages (after a warning if items wait) ----------
  function guardLogout(form) {
    form.addEventListener("submit", function (evt) {
      if (form.getAttribute("data-confirmed")) return;
      evt.preventDefault();
      Outbox.list(Number(user)).then(function (rows) {
        if (rows.length && !window.confirm(text(form, "waiting"))) return;
        ["patrol:", "ended:", "crumbs:"].forEach(function (prefix) { localStorage.removeItem(prefix + user); });
        sessionStorage.removeItem("warmed:" + user);
        var clear = [Outbox.clearUser(Number(user)), Outbox.setMeta("user", null), Outbox.setMeta("csrf", null)];
        if (window.caches) clear.push(caches.keys().then(function (keys) {
          return Promise.all(keys.filter(function (k) { return k.indexOf("shell-") !== 0; }).map(function (k) { return caches.delete(k); }));
        }));
        return Promise.all(clear).then(function () {
          form.setAttribute("data-confirmed", "1");
          form.submit();
        });
      });
    });
  }

  // A page may come from the service worker's cache, with the client_id the server baked in when it was first
  // served: reused, a second report would be refused as a retry of the first (409 client_id_reused). So every
  // form gets a fresh id when it is shown, unless the server sent it back with an error (data-client-id-kept),
  // where the id must stay that of the attempt being corrected.
  function freshIds(root) {
    root.querySelectorAll("input[name=client_id]:not([data-client-id-kept])").forEach(function (input) {
      input.value = Outbox.newId();
    });
  }

  function setup(root) {
    freshIds(root);
    root.querySelectorAll("form[data-outbox]").forEach(captureForm);
    root.querySelectorAll("form[data-logout]").forEach(guardLogout);
    root.querySelectorAll("[data-outbox-list]").forEach(function (box) { box.hidden = false; });
    root.querySelectorAll("[data-outbox-nojs]").forEach(function (el) { el.hidden = true; });
    refreshBadges();
  }

  function kick() { ready.then(function () { return Outbox.flush({ now: true }); }).catch(function () {}); }
  window.addEventListener("online", kick);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") kick(); });
  document.addEventListener("DOMContentLoaded", function () { setup(document); kick(); });
  document.addEventListener("htmx:load", function (evt) { if (evt.detail.elt !== document.body) setup(evt.detail.elt); });
  window.VolunteersApp = { ready: ready, user: user ? Number(user) : null, text: text, refreshBadges: refreshBadges };
})();

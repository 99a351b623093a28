// The app on the phone: registers the service worker, keeps the outbox flowing, shows what waits,
// captures forms marked data-outbox into the outbox, and clears this person's data on logout.
(function () {
  "use strict";
  var Outbox = window.Outbox;
  var body = document.body;
  var user = body.getAttribute("data-user");
  var csrf = body.getAttribute("data-csrf");
  if (!Outbox || !window.indexedDB) return;

  // --- whose pages this phone keeps -------------------------------------------------------------------
  // The service worker keeps the pages of whoever used the phone last. A session can end without the logout
  // button (it expired, it was revoked, someone else logged in on this phone): when a page finds the server's
  // user is not the one remembered here, the cached pages, photos and checkpoints go. Unsent outbox items stay:
  // they are keyed by person and leave when that person logs in again.
  var LAST_USER = "pwa:user";
  var PER_USER = ["patrol:", "ended:", "crumbs:", "awake:"];

  function clearCaches() {
    if ("serviceWorker" in navigator && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear-user-data" });
    }
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("shell-") !== 0; }).map(function (k) { return caches.delete(k); }));
    }).catch(function () {});
  }

  function forget(previous) {
    if (!previous) return clearCaches();
    sessionStorage.removeItem("warmed:" + previous);
    return Promise.all([clearCaches(), Outbox.list(Number(previous)).then(function (rows) {
      // A patrol whose start or check-ins still wait needs its state when its volunteer comes back.
      if (!rows.length) PER_USER.forEach(function (prefix) { localStorage.removeItem(prefix + previous); });
    }).catch(function () {})]);
  }

  // Who the server says is logged in: an id, "" for nobody, or undefined when it cannot be told (no signal).
  function serverUser() {
    return fetch("/api/v1/me", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.ok) return r.json().then(function (d) { return d && d.id != null ? String(d.id) : undefined; });
        if (r.status === 401) return "";
        if (r.status === 403) return r.json().then(function (d) {
          return d && d.error && d.error.code === "password_change_required" && user ? user : undefined;
        });
        return undefined;
      }).catch(function () { return undefined; });
  }

  // Only a page that names someone else (or nobody) asks the server: a page from the cache can be stale.
  function checkUser() {
    var last = localStorage.getItem(LAST_USER) || "";
    if ((user || "") === last && last) return Promise.resolve();
    if (!user && !last) return Promise.resolve();
    return serverUser().then(function (actual) {
      if (actual === undefined || actual === last) return;
      // Nobody remembered: the pages were cleared when the last session was seen to end (or at logout).
      var done = last ? forget(last) : Promise.resolve();
      if (!actual) done = Promise.all([done, Outbox.setMeta("user", null), Outbox.setMeta("csrf", null)]);
      // Remembered only once cleared: a page left half-way leaves the clearing to the next one.
      return done.then(function () {
        if (actual) localStorage.setItem(LAST_USER, actual); else localStorage.removeItem(LAST_USER);
      });
    });
  }
  var userChecked = checkUser().catch(function () {});

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
      // After the check above, so the pages kept are this person's and are not cleared straight away; marked
      // only once asked, so a page left before that leaves the warming to the next one.
      userChecked.then(function () { return navigator.serviceWorker.ready; }).then(function (reg) {
        if (!reg.active) return;
        sessionStorage.setItem(warmKey, "1");
        reg.active.postMessage({ type: "warm", urls: JSON.parse(warmUrls) });
      });
    }
  }

  // The service worker flushes too (Background Sync), so it needs to know whose outbox and which token.
  var ready = user ? userChecked.then(function () {
    return Promise.all([Outbox.setMeta("user", Number(user)), Outbox.setMeta("csrf", csrf)]);
  }) : Promise.resolve();

  function text(el, key) { return el.getAttribute("data-msg-" + key) || ""; }
  var alertBox = document.querySelector("[data-outbox-alert]");
  function say(key) { return alertBox ? text(alertBox, key) : ""; }

  // --- what the person can do about a refused item ------------------------------------------------------
  function kindOf(row) {
    if (row.kind === "checkin") return "checkin";
    if (row.kind === "hazard") return "hazard";
    if (row.kind === "patrol.start" || row.kind === "patrol.end") return "patrol";
    return "other";
  }

  function button(label, className, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button " + className;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function link(label, href, className) {
    var a = document.createElement("a");
    a.className = "button " + (className || "");
    a.href = href;
    a.textContent = label;
    return a;
  }

  function deleteButton(row, confirmText) {
    var del = button(say("delete") || "Delete", "danger", function () {
      if (window.confirm(confirmText || say("confirm-delete"))) Outbox.remove(row.seq);
    });
    del.setAttribute("data-outbox-delete", "");
    return del;
  }

  // The way forward for a refused item: check in again, fix the report (opened with what was saved), or delete.
  function refusedActions(row) {
    var out = [];
    var kind = kindOf(row);
    if (!alertBox) return out;
    if (kind === "checkin") out.push(link(say("checkin-again"), alertBox.getAttribute("data-url-home"), "primary"));
    if (kind === "patrol") out.push(link(say("to-patrol"), alertBox.getAttribute("data-url-home"), "primary"));
    if (kind === "hazard") {
      var fix = link(say("fix"), alertBox.getAttribute("data-url-report") + "#fix=" + encodeURIComponent(row.client_id), "primary");
      fix.setAttribute("data-outbox-fix", "");
      out.push(fix);
    }
    return out;
  }

  function renderAlert(rows) {
    if (!alertBox) return;
    // The outbox page lists the same items with the same actions.
    var onOutboxPage = !!document.querySelector("[data-outbox-list]");
    var refused = rows.filter(function (r) { return r.state === "stuck"; });
    var held = rows.filter(function (r) { return r.state !== "stuck" && r.hold; });
    alertBox.textContent = "";
    alertBox.hidden = onOutboxPage || (!refused.length && !held.length);
    if (alertBox.hidden) return;
    if (refused.length) {
      var box = document.createElement("div");
      box.className = "notice notice-error outbox-refused-box";
      var h = document.createElement("h2");
      h.id = "outbox-alert-title";
      h.textContent = refused.length === 1 ? say("refused-one") : say("refused-many").replace("999999", refused.length);
      box.appendChild(h);
      var ol = document.createElement("ol");
      ol.className = "outbox-alert-items";
      refused.forEach(function (row) {
        var li = document.createElement("li");
        li.className = "outbox-alert-item";
        li.setAttribute("data-seq", row.seq);
        li.setAttribute("data-kind", row.kind);
        var title = document.createElement("strong");
        title.textContent = row.label;
        var why = document.createElement("p");
        why.setAttribute("data-outbox-error", "");
        why.textContent = row.last_error || "";
        var hint = document.createElement("p");
        hint.className = "small";
        hint.textContent = say("hint-" + kindOf(row));
        var bar = document.createElement("div");
        bar.className = "outbox-actions";
        refusedActions(row).forEach(function (el) { bar.appendChild(el); });
        bar.appendChild(deleteButton(row));
        [title, why, hint, bar].forEach(function (el) { li.appendChild(el); });
        ol.appendChild(li);
      });
      box.appendChild(ol);
      alertBox.appendChild(box);
    }
    if (held.length) {
      var password = held.some(function (r) { return r.hold === "password"; });
      var note = document.createElement("div");
      note.className = "notice notice-warning outbox-held";
      note.setAttribute("data-outbox-held", password ? "password" : "login");
      var p = document.createElement("p");
      p.textContent = say(password ? "held-password" : "held-login").replace("999999", held.length);
      note.appendChild(p);
      note.appendChild(link(say(password ? "change-password" : "log-in"),
        alertBox.getAttribute(password ? "data-url-password" : "data-url-login"), "primary"));
      alertBox.appendChild(note);
    }
  }

  // --- the count badges, the banner and the outbox page ------------------------------------------------
  function refreshBadges() {
    if (!user) return;
    Outbox.list(Number(user)).then(function (rows) {
      var refused = rows.filter(function (r) { return r.state === "stuck"; }).length;
      var waiting = rows.length - refused;
      document.querySelectorAll("[data-outbox-badge]").forEach(function (badge) { badge.textContent = String(waiting); });
      document.querySelectorAll("[data-outbox-refused-badge]").forEach(function (badge) { badge.textContent = String(refused); });
      document.querySelectorAll("[data-outbox-waiting]").forEach(function (el) { el.hidden = waiting === 0; });
      document.querySelectorAll("[data-outbox-refused]").forEach(function (el) { el.hidden = refused === 0; });
      document.querySelectorAll("[data-outbox-link]").forEach(function (el) {
        el.hidden = rows.length === 0;
        el.classList.toggle("has-refused", refused > 0);
      });
      document.querySelectorAll("[data-outbox-list]").forEach(function (box) { renderList(box, rows); });
      renderAlert(rows);
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
      if (row.state === "stuck") {
        var hint = document.createElement("p");
        hint.className = "small";
        hint.textContent = say("hint-" + kindOf(row));
        li.appendChild(hint);
        refusedActions(row).forEach(function (el) { li.appendChild(el); });
      }
      var retry = button(text(box, "retry"), "", function () { Outbox.retry(row.seq); });
      var del = deleteButton(row, text(box, "confirm-delete"));
      del.textContent = text(box, "delete");
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
  // Photos are shrunk on the phone first, so six of them stay small in the queue and on a weak signal. The photo
  // picker (photo-picker.js) shrinks them when chosen, to show their size; a photo shrunk once is not shrunk again.
  var shrunk = window.WeakSet ? new WeakSet() : null;
  function shrink(file, longEdge) {
    if ((shrunk && shrunk.has(file)) || !/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) return resolve(file);
          var out = new File([blob], (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
          if (shrunk) shrunk.add(out);
          resolve(out);
        }, "image/jpeg", 0.82);
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
        // A voice note (voice-note.js) is kept as recorded, under its own name.
        if (!/^image\//.test(value.type)) { parts.push([name, value, value.name || name]); return; }
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
          var item = {
            user: Number(user), client_id: clientId, kind: form.getAttribute("data-outbox"),
            label: form.getAttribute("data-outbox-label") || form.getAttribute("data-outbox"),
            url: form.getAttribute("data-outbox-url"), parts: parts
          };
          // A corrected refused report goes under its new client_id, in the place of the refused one.
          var replaces = form.getAttribute("data-outbox-replaces");
          if (!replaces) return Outbox.add(item);
          return Outbox.get(Number(replaces)).then(function (old) {
            return old ? Outbox.replace(old.seq, item) : Outbox.add(item);
          });
        });
      }).then(function (item) {
        form.removeAttribute("data-outbox-replaces");
        var fixing = form.querySelector("[data-outbox-fixing]");
        if (fixing) fixing.remove();
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
        PER_USER.forEach(function (prefix) { localStorage.removeItem(prefix + user); });
        localStorage.removeItem(LAST_USER);
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

  // "Fix the report" opens the report form at #fix=<client_id>: what was saved comes back into the form (text,
  // choices, place and photos), and sending it again replaces the refused item (captureForm above).
  function restore(form, row) {
    var files = [], others = {};
    (row.parts || []).forEach(function (part) {
      var name = part[0], value = part[1];
      if (name === "client_id" || name === "csrf_token") return;
      if (value instanceof Blob && name !== "photo") {  // a voice note goes back into its own field
        (others[name] = others[name] || []).push(new File([value], part[2] || name, { type: value.type }));
        return;
      }
      if (value instanceof Blob) { files.push(new File([value], part[2] || "photo.jpg", { type: value.type || "image/jpeg" })); return; }
      var fields = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
      fields.forEach(function (field) {
        if (field.type === "file") return;
        if (field.type === "radio" || field.type === "checkbox") field.checked = field.value === value;
        else field.value = value;
      });
    });
    var picker = form.querySelector("input[type=file][name=photo][multiple]") || form.querySelector("input[type=file][name=photo]");
    if (files.length && picker && window.DataTransfer) {
      try {
        var dt = new DataTransfer();
        files.forEach(function (f) { dt.items.add(f); });
        picker.files = dt.files;
        picker.dispatchEvent(new Event("change", { bubbles: true }));
      } catch (e) { /* an old browser: the photos must be chosen again */ }
    }
    Object.keys(others).forEach(function (name) {
      var field = form.querySelector("input[type=file][name='" + name.replace(/'/g, "") + "']");
      if (!field || !window.DataTransfer) return;
      try {
        var dt = new DataTransfer();
        others[name].forEach(function (f) { dt.items.add(f); });
        field.files = dt.files;
        field.dispatchEvent(new Event("change", { bubbles: true }));
      } catch (e) { /* idem: record it again */ }
    });
    var located = form.querySelector("[data-location-status]");
    if (located && form.elements.lat && form.elements.lat.value) located.textContent = located.getAttribute("data-msg-found") || "";
    form.setAttribute("data-outbox-replaces", String(row.seq));
    form.dispatchEvent(new CustomEvent("report:restored"));  // report-form.js puts the marker on the saved place
  }

  function fixFromHash(root) {
    var match = /^#fix=(.+)$/.exec(window.location.hash);
    var form = match && root.querySelector("form[data-outbox]");
    if (!form || !user) return;
    var clientId = decodeURIComponent(match[1]);
    Outbox.list(Number(user)).then(function (rows) {
      var row = rows.filter(function (r) { return r.client_id === clientId && r.kind === form.getAttribute("data-outbox"); })[0];
      var note = document.createElement("p");
      note.setAttribute("data-outbox-fixing", "");
      note.setAttribute("role", "alert");
      note.className = "notice " + (row ? "notice-error" : "notice-info");
      note.textContent = row ? say("fixing").replace("{message}", row.last_error || "") : say("fix-gone");
      form.insertBefore(note, form.firstChild);
      if (row) restore(form, row);
      if (window.history && history.replaceState) history.replaceState(null, "", window.location.pathname + window.location.search);
    });
  }

  function setup(root) {
    freshIds(root);
    fixFromHash(root);
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
  window.VolunteersApp = { ready: ready, user: user ? Number(user) : null, text: text, refreshBadges: refreshBadges, shrink: shrink };
})();

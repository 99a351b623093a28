// The patrol on the volunteer home, offline-first: start, check in by GPS and end go through the outbox,
// so they work with one bar of signal or none. The page's plain forms stay for phones without JavaScript.
(function () {
  "use strict";
  var Outbox = window.Outbox;
  var app = window.VolunteersApp;
  var root = document.querySelector("[data-patrol-app]");
  var dataEl = document.getElementById("patrol-data");
  if (!root || !dataEl || !Outbox || !app || app.user == null) return;

  var data = JSON.parse(dataEl.textContent);
  var key = "patrol:" + app.user;
  var mine = {};  // client_ids of items made on this page view: their refusals are shown right here
  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }
  function say(text, error) {
    var el = root.querySelector("[data-app-status]");
    el.textContent = text;
    el.className = text ? (error ? "notice notice-error" : "notice notice-success") : "";
  }

  // Patrols ended on this phone: a cached copy of the page may still show them running.
  function endedList() {
    try { return JSON.parse(localStorage.getItem("ended:" + app.user)) || []; } catch (e) { return []; }
  }
  function remember(clientId) {
    localStorage.setItem("ended:" + app.user, JSON.stringify(endedList().concat([clientId]).slice(-20)));
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }
  function save(state) {
    if (state) localStorage.setItem(key, JSON.stringify(state)); else localStorage.removeItem(key);
  }

  // The server's view wins when it knows this patrol; a patrol still in the outbox is only known here.
  function reconcile() {
    var local = load();
    var server = data.patrol;
    if (server && endedList().indexOf(server.client_id) >= 0 && !(local && local.client_id === server.client_id)) server = null;
    if (server) {
      if (!local || local.client_id !== server.client_id) {
        local = { client_id: server.client_id, server_id: server.id, started_at: server.started_at, ended: false, checkins: {} };
      }
      local.server_id = server.id;
      server.checkins.forEach(function (c) { local.checkins[c.checkpoint_id] = { state: "sent", recorded_at: c.recorded_at }; });
      save(local);
      return Promise.resolve(local);
    }
    if (!local) return Promise.resolve(null);
    // The page says nothing runs: fine if our start (or end) is still waiting. Otherwise the page may simply be
    // older than the phone's patrol (drawn while the start was on its way, or the cached copy a weak signal fell
    // back to), so ask the server before letting a running patrol go; if it cannot be asked, keep it.
    return Outbox.list(app.user).then(function (rows) {
      var waiting = rows.some(function (r) { return r.client_id === local.client_id || r.depends_on === local.client_id || r.url.indexOf("/" + local.server_id + "/") >= 0; });
      if (waiting || !navigator.onLine) return local;
      return stillRunning(local).then(function (patrol) {
        if (patrol === undefined) return local;
        if (!patrol) { save(null); return null; }
        local.server_id = patrol.id;
        save(local);
        return local;
      });
    });
  }

  // The server's copy of this phone's patrol: the patrol while it runs, null once it ended (or never went through),
  // undefined when the server cannot be asked (no signal, logged out).
  function stillRunning(local) {
    return fetch(data.urls.start, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (list) {
        var patrol = list.filter(function (p) { return p.client_id === local.client_id; })[0];
        return patrol && !patrol.ended_at && !patrol.discarded ? patrol : null;
      })
      .catch(function () { return undefined; });  // no signal, logged out (the login page is no list): keep it
  }

  // Metres between two (lat, lon) points on the WGS-84 ellipsoid, from its radii of curvature at the mean latitude:
  // within 0.1 % of the server's geodesic over a patrol's few kilometres (a sphere is 0.3 % off north–south).
  function distanceM(a, b) {
    var rad = Math.PI / 180, A = 6378137, E2 = 0.00669437999014;
    var s = Math.sin((a[0] + b[0]) / 2 * rad), w = 1 - E2 * s * s;
    var north = (b[0] - a[0]) * rad * A * (1 - E2) / Math.pow(w, 1.5);
    var east = (b[1] - a[1]) * rad * A / Math.sqrt(w) * Math.cos((a[0] + b[0]) / 2 * rad);
    return Math.sqrt(north * north + east * east);
  }

  function clock(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

  // The scanner, NFC and the poster code's rules are needed only while a patrol runs (their buttons and the code
  // form appear only then): fetched at that moment, not with the home (the worker keeps them in its offline kit).
  var extras = null;
  function patrolScripts() {
    if (extras) return extras;
    extras = Promise.all((root.getAttribute("data-app-scripts") || "").split(" ").filter(Boolean).map(function (src) {
      return new Promise(function (resolve) {
        var s = document.createElement("script");
        s.src = src;
        s.async = false;  // in order: the scanner reads a poster's code with poster-code.js
        s.onload = s.onerror = resolve;
        document.head.appendChild(s);
      });
    }));
    return extras;
  }

  var here = null;
  function render(state) {
    var running = state && !state.ended;
    if (running) patrolScripts();
    root.querySelectorAll("[data-app-idle]").forEach(function (el) { el.hidden = !!running; });
    root.querySelectorAll("[data-app-running]").forEach(function (el) { el.hidden = !running; });
    if (running) root.querySelector("[data-app-since]").textContent = clock(state.started_at);
    var list = root.querySelector("[data-app-checkpoints]");
    var template = root.querySelector("template[data-app-row]");
    list.textContent = "";
    data.checkpoints.forEach(function (cp) {
      var row = template.content.firstElementChild.cloneNode(true);
      row.id = "app-checkpoint-" + cp.id;
      row.querySelector("[data-name]").textContent = cp.name;
      var distance = row.querySelector("[data-distance]");
      if (here) distance.textContent = msg("metres").replace("999999", Math.round(distanceM(here, [cp.lat, cp.lon])));
      var done = running && state.checkins[cp.id];
      var stateEl = row.querySelector("[data-state]");
      var button = row.querySelector("[data-app-checkin]");
      button.hidden = !running || (done && done.state !== "refused");
      if (done && done.state === "sent") {
        stateEl.textContent = "✓ " + (done.recorded_at ? msg("checked-at").replace("{time}", clock(done.recorded_at)) : msg("checked-in"));
        row.classList.add("done");
      }
      else if (done && done.state === "waiting") { stateEl.textContent = "⏳ " + msg("saved"); row.classList.add("waiting"); }
      else if (done && done.state === "refused") { stateEl.textContent = done.message; stateEl.className = "notice notice-error"; }
      button.addEventListener("click", function () { checkIn(cp, button); });
      list.appendChild(row);
    });
    syncAwake();
  }

  // Keeping the screen on while the patrol runs, if the volunteer chose it (remembered on this phone): a locked
  // screen stops the page, and with it the distances and the breadcrumb. root.dataset.awake says what happened.
  var awakeKey = "awake:" + app.user, lock = null, asking = false, retries = 0;
  function syncAwake() {
    if (!("wakeLock" in navigator)) return;
    var state = load();
    var want = !!(state && !state.ended) && localStorage.getItem(awakeKey) === "1" && document.visibilityState === "visible";
    if (want && !lock && !asking) {
      asking = true;
      navigator.wakeLock.request("screen").then(function (l) {
        asking = false;
        retries = 0;
        lock = l;
        root.dataset.awake = "on";
        l.addEventListener("release", function () { lock = null; root.dataset.awake = "off"; });
      }, function () {  // not allowed on this phone (or battery saver): say so and untick the box
        asking = false;
        // A page still loading (or just shown again, or on a busy phone) may be refused for a moment: ask again
        // after 1.5, 3 and 6 s before giving up; a phone that does not allow it is told after about 10 s.
        if (retries < 3) { setTimeout(syncAwake, 1500 * Math.pow(2, retries++)); return; }
        root.dataset.awake = "refused";
        localStorage.setItem(awakeKey, "0");
        root.querySelector("[data-app-awake]").checked = false;
        say(msg("awake-refused"), true);
      });
    } else if (!want && lock) {
      lock.release();
    }
  }

  function refresh() { return reconcile().then(render); }

  function start() {
    var state = { client_id: Outbox.newId(), server_id: null, started_at: new Date().toISOString(), ended: false, checkins: {} };
    mine[state.client_id] = true;
    localStorage.removeItem(crumbKey);  // positions left from an earlier patrol belong to none of this one
    return Outbox.add({
      user: app.user, client_id: state.client_id, kind: "patrol.start", label: msg("label-start"),
      url: data.urls.start, json: { client_id: state.client_id, recorded_at: state.started_at }
    }).then(function () {
      save(state);
      render(state);
      say(msg("saved"));
      Outbox.flush({ now: true });
    });
  }

  function patrolUrl(template, state) {
    return template.replace("{id}", state.server_id != null ? state.server_id : "{patrol:" + state.client_id + "}");
  }

  // The breadcrumb: a fix every third of the interval while the patrol runs, kept on the phone, and sent as one
  // batch (one outbox item, one client_id) every breadcrumb_every_s seconds and when the patrol ends.
  var crumbKey = "crumbs:" + app.user;
  var everyMs = Math.max(3, data.breadcrumb_every_s || 180) * 1000;
  function crumbs() {
    try { return JSON.parse(localStorage.getItem(crumbKey)) || []; } catch (e) { return []; }
  }
  function keepCrumb(pos) {
    var state = load();
    if (!state || state.ended || !data.urls.positions) return;
    var list = crumbs();
    var last = list[list.length - 1];
    if (last && Date.now() - Date.parse(last.recorded_at) < everyMs / 3) return;
    list.push({ lat: pos.coords.latitude, lon: pos.coords.longitude,
                accuracy_m: Math.round(pos.coords.accuracy * 10) / 10, recorded_at: new Date().toISOString() });
    localStorage.setItem(crumbKey, JSON.stringify(list.slice(-100)));
    if (Date.now() - Date.parse(list[0].recorded_at) >= everyMs) sendCrumbs(state);
  }
  function sendCrumbs(state) {
    var list = crumbs();
    if (!list.length || !state || !data.urls.positions) return Promise.resolve();
    localStorage.removeItem(crumbKey);
    var id = Outbox.newId();
    return Outbox.add({
      user: app.user, client_id: id, kind: "positions", label: msg("label-positions"),
      url: patrolUrl(data.urls.positions, state), depends_on: state.server_id == null ? state.client_id : null,
      json: { client_id: id, points: list }
    }).then(function () { Outbox.flush(); });
  }

  // The server's GPS rules (patrols.judge_gps), applied on the phone so that a check-in the server would refuse is
  // said at once — with no signal too — and never queued as if it were fine. distanceM differs from the server's
  // geodesic by under 0.1 %: the phone refuses only beyond that margin and leaves the borderline to the server.
  function refusal(cp, pos) {
    var rules = data.rules || {};
    var accuracy = Math.max(0, pos.coords.accuracy || 0);
    var distance = distanceM([pos.coords.latitude, pos.coords.longitude], [cp.lat, cp.lon]);
    if (rules.max_accuracy_m != null && accuracy > rules.max_accuracy_m) {
      return msg("low-accuracy").replace("777777", Math.round(accuracy)).replace("999999", Math.round(distance)).replace("{name}", cp.name);
    }
    var accepted = cp.radius_m + Math.min(accuracy, rules.max_accuracy_allowance_m != null ? rules.max_accuracy_allowance_m : 50);
    if (cp.radius_m != null && distance > accepted * 1.002 + 1) {
      return msg("too-far").replace("999999", Math.round(distance)).replace("{name}", cp.name).replace("888888", cp.radius_m);
    }
    return null;
  }

  function checkIn(cp, button) {
    var state = load();
    if (!state || state.ended || !window.Geolocate || !window.Geolocate.supported) return;
    button.disabled = true;
    say(msg("locating"));
    locate(function (pos) {
      here = [pos.coords.latitude, pos.coords.longitude];
      var refused = refusal(cp, pos);
      if (refused) {
        state.checkins[cp.id] = { state: "refused", message: refused };
        save(state);
        render(state);
        say(refused, true);
        return;
      }
      var id = Outbox.newId();
      mine[id] = true;
      var body = { client_id: id, checkpoint_id: cp.id, lat: pos.coords.latitude, lon: pos.coords.longitude,
                   accuracy_m: Math.round(pos.coords.accuracy * 10) / 10, recorded_at: new Date().toISOString() };
      Outbox.add({
        user: app.user, client_id: id, kind: "checkin", label: msg("label-checkin").replace("{name}", cp.name),
        url: patrolUrl(data.urls.checkins, state), depends_on: state.server_id == null ? state.client_id : null, json: body
      }).then(function () {
        state.checkins[cp.id] = { state: "waiting", client_id: id, recorded_at: body.recorded_at };
        save(state);
        render(state);
        say(msg("saved"));
        Outbox.flush({ now: true });
      });
    }, function (err) {
      button.disabled = false;
      say(err && err.code === 1 ? msg("denied") : msg("no-fix"), true);
    });
  }

  // Check in by typing the poster's code: forgiven like the server does (case, spaces, dashes, 0/1/8 for O/I/B),
  // queued through the outbox like a GPS check-in, and refused at once when it cannot be a code at all.
  function checkInByCode(form) {
    return patrolScripts().then(function () { return codeCheckIn(form); });
  }
  function codeCheckIn(form) {
    if (!window.PosterCode) { extras = null; return; }  // not fetched (no signal, no kit yet): the next tap tries again
    var state = load();
    var input = form.querySelector("input[name=qr]");
    if (!state || state.ended) return;
    var code = window.PosterCode.normalise(input.value);  // poster-code.js: one copy with the poster page's
    if (!code) { say(msg("bad-code"), true); input.focus(); return; }
    var cpId = window.PosterCode.checkpointId(code);
    var cp = data.checkpoints.filter(function (c) { return c.id === cpId; })[0];
    var id = Outbox.newId();
    mine[id] = true;
    var body = { client_id: id, qr: code, recorded_at: new Date().toISOString() };
    return Outbox.add({
      user: app.user, client_id: id, kind: "checkin",
      label: cp ? msg("label-checkin").replace("{name}", cp.name) : msg("label-code"),
      url: patrolUrl(data.urls.checkins, state), depends_on: state.server_id == null ? state.client_id : null, json: body
    }).then(function () {
      if (cp) state.checkins[cp.id] = { state: "waiting", client_id: id, recorded_at: body.recorded_at };
      save(state);
      render(state);
      input.value = "";
      say(msg("saved"));
      Outbox.flush({ now: true });
    });
  }

  // A fix from the running watch that is under 15 s old is used at once; otherwise ask for a new one.
  var lastFix = null;
  function locate(done, failed) {
    if (lastFix && Date.now() - lastFix.timestamp < 15000) return done(lastFix);
    // One request at a time: some browsers never answer a one-off request while a watch runs.
    stopWatch();
    window.Geolocate.once(function (lat, lon, accuracy, pos) {
      lastFix = { coords: pos.coords, timestamp: Date.now() };
      startWatch();
      done(pos);
    }, function (why, err) { startWatch(); failed(err); }, { maximumAge: 10000 });
  }

  function end() {
    var state = load();
    if (!state || state.ended) return;
    // Asked once, with what the patrol holds so far: the button sits right under the check-ins.
    var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(state.started_at)) / 60000));
    var done = data.checkpoints.filter(function (cp) {
      var c = state.checkins[cp.id];
      return c && c.state !== "refused";
    }).length;
    var question = msg("confirm-end").replace("{minutes}", minutes).replace("{done}", done).replace("{total}", data.checkpoints.length);
    if (!window.confirm(question)) return;
    var id = Outbox.newId();
    mine[id] = true;
    return sendCrumbs(state).then(function () { return Outbox.add({
      user: app.user, client_id: id, kind: "patrol.end", label: msg("label-end"),
      url: patrolUrl(data.urls.end, state), depends_on: state.server_id == null ? state.client_id : null,
      json: { recorded_at: new Date().toISOString() }
    }); }).then(function () {
      state.ended = true;
      state.end_client_id = id;
      save(state);
      render(state);
      say(msg("ended"));
      Outbox.flush({ now: true });
    });
  }

  Outbox.on(function (event) {
    var state = load();
    if (!event.item || !state) return;
    var item = event.item;
    if (event.type === "sent") {
      if (item.kind === "patrol.start" && item.client_id === state.client_id) {
        state.server_id = event.response.id;
        // "saved, waiting to send" is no longer true; anything said since (a refused code, say) still is.
        if (mine[item.client_id] && root.querySelector("[data-app-status]").textContent === msg("saved")) say("");
      }
      if (item.kind === "checkin") {
        Object.keys(state.checkins).forEach(function (cpId) {
          if (state.checkins[cpId].client_id === item.client_id) state.checkins[cpId].state = "sent";
        });
        var cpSent = event.response && event.response.checkpoint_id;  // a typed code names its point only here
        if (cpSent && !state.checkins[cpSent]) state.checkins[cpSent] = { state: "sent", client_id: item.client_id, recorded_at: event.response.recorded_at };
      }
      if (item.kind === "patrol.end" && item.client_id === state.end_client_id) {
        remember(state.client_id);
        save(null);
        say(msg("ended-sent").replace("999999", event.response.minutes));
        render(null);
        // show it in "my patrols", with the thank-you for this patrol at the top
        if (mine[item.client_id]) window.location.assign(data.urls.mine + "?ended=" + encodeURIComponent(event.response.id));
        return;
      }
      save(state);
      render(state);
      if (mine[item.client_id] && item.kind === "checkin") say(msg("checked-in"));
    } else if (event.type === "stuck" && item.kind === "positions") {
      Outbox.remove(item.seq);  // a refused breadcrumb batch is not worth a volunteer's attention
    } else if (event.type === "stuck" && item.kind === "checkin" && mine[item.client_id]) {
      // Refused while the volunteer watches (say, too far away): show why, and let them try again.
      Object.keys(state.checkins).forEach(function (cpId) {
        if (state.checkins[cpId].client_id === item.client_id) state.checkins[cpId] = { state: "refused", message: item.last_error };
      });
      save(state);
      render(state);
      say(item.last_error, true);
      Outbox.remove(item.seq);
    }
  });

  if ("wakeLock" in navigator) {
    var awakeBox = root.querySelector("[data-app-awake]");
    root.querySelector("[data-app-awake-label]").hidden = false;
    awakeBox.checked = localStorage.getItem(awakeKey) === "1";
    awakeBox.addEventListener("change", function () {
      localStorage.setItem(awakeKey, awakeBox.checked ? "1" : "0");
      syncAwake();
    });
    document.addEventListener("visibilitychange", syncAwake);  // the browser drops the lock when the page hides
  }
  root.querySelector("[data-app-start]").addEventListener("click", start);
  root.querySelector("[data-app-end]").addEventListener("click", end);
  root.querySelector("[data-app-code]").addEventListener("submit", function (evt) {
    evt.preventDefault();
    checkInByCode(evt.target);
  });
  // A code read by the in-app scanner or an NFC tag (scanner.js, nfc.js) checks in like a typed one.
  document.addEventListener("patrol:code", function (evt) {
    var form = root.querySelector("[data-app-code]");
    form.querySelector("input[name=qr]").value = (evt.detail && evt.detail.code) || "";
    checkInByCode(form);
  });
  document.querySelectorAll("[data-app-nojs]").forEach(function (el) { el.hidden = true; });
  root.hidden = false;

  // Distances from where the volunteer stands, updated as they walk (display only; the server decides).
  var stopWatching = null;
  function startWatch() {
    if (!window.Geolocate || !window.Geolocate.supported || stopWatching !== null) return;
    stopWatching = window.Geolocate.watch(function (lat, lon, accuracy, pos) {
      lastFix = { coords: pos.coords, timestamp: Date.now() };
      here = [lat, lon];
      keepCrumb(pos);
      render(load());
    }, null, { maximumAge: 15000, timeout: 30000 });
  }
  function stopWatch() {
    if (stopWatching !== null) stopWatching();
    stopWatching = null;
  }
  startWatch();
  app.ready.then(refresh);
})();

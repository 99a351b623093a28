// data-scan-shell: the scan page the service worker answers a poster's /c/<code> link with when there is no
// network. It reads the code from the address, names the point from the phone's cached must-visit points, and on the
// one tap queues the check-in through the outbox (starting a patrol first if none runs on this phone), the way the
// patrol screen queues a typed code (offline-patrol.js, whose saved patrol it shares). The server stays the judge.
(function () {
  "use strict";
  var Outbox = window.Outbox;
  var root = document.querySelector("[data-scan-shell]");
  if (!root || !Outbox || !window.indexedDB) return;
  var urls = JSON.parse(root.getAttribute("data-urls"));
  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }
  function el(name) { return root.querySelector("[data-scan-" + name + "]"); }
  function refuse(text) {
    el("title").textContent = msg("error-title");
    el("intro").hidden = true;
    el("button").hidden = true;
    var error = el("error");
    error.textContent = text;
    error.hidden = false;
  }
  function status(text, kind) {
    var box = el("status");
    box.textContent = text;
    box.className = "notice notice-" + (kind || "success");
    box.hidden = !text;
  }

  var normaliseCode = window.PosterCode.normalise;  // poster-code.js: forgiven like the server does

  var raw = "";
  try { raw = decodeURIComponent(window.location.pathname.replace(/^.*\/c\//, "")); } catch (e) { raw = "?"; }
  var code = normaliseCode(raw);
  if (!raw) { refuse(msg("no-code")); return; }
  if (!code) { refuse(msg("bad-code")); return; }  // at once: no network needed to see that it is no code
  var cpId = Number(code.split("-")[1]);

  // The must-visit points of my grids, as last fetched with signal (the service worker keeps them).
  function myCheckpoints() {
    return fetch(urls.checkpoints, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }

  Promise.all([Outbox.getMeta("user"), myCheckpoints()]).then(function (got) {
    var user = got[0], points = got[1];
    if (user == null) { refuse(msg("logged-out")); return; }
    var cp = Array.isArray(points) ? points.filter(function (c) { return c.id === cpId; })[0] : null;
    if (Array.isArray(points) && !cp) { refuse(msg("not-mine")); return; }  // the server would say 404 (or retired)
    var name = cp ? cp.name : msg("point").replace("{id}", cpId);
    el("title").textContent = name;
    el("intro").textContent = msg("intro");
    status(msg("offline"), "warning");
    var button = el("button");
    var key = "patrol:" + user;
    function load() { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } }
    var state = load();
    if (state && !state.ended && state.checkins && state.checkins[cpId] && state.checkins[cpId].state !== "refused") {
      status(msg("already"));
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      checkIn(Number(user), cp, name).then(function () {
        button.hidden = true;
        el("outbox").hidden = false;
        status(msg("saved"));
        Outbox.flush({ now: true });
      }, function () {
        button.disabled = false;
        status(msg("failed"), "error");
      });
    });
    Outbox.on(function (event) {
      if (event.type === "sent" && event.item && event.item.kind === "checkin" && event.item.client_id === mine) {
        status(msg("sent").replace("{name}", name));
      } else if (event.type === "stuck" && event.item && event.item.client_id === mine) {
        refuse(event.item.last_error);
      }
    });

    var mine = null;
    function checkIn(userId, point, label) {
      var state = load();
      var adds = [];
      if (!state || state.ended) {
        state = { client_id: Outbox.newId(), server_id: null, started_at: new Date().toISOString(), ended: false, checkins: {} };
        adds.push({ user: userId, client_id: state.client_id, kind: "patrol.start", label: msg("label-start"),
                    url: urls.start, json: { client_id: state.client_id, recorded_at: state.started_at } });
        localStorage.removeItem("crumbs:" + userId);  // positions left from an earlier patrol belong to none of this one
      }
      var id = Outbox.newId();
      var body = { client_id: id, qr: code, recorded_at: new Date().toISOString() };
      adds.push({ user: userId, client_id: id, kind: "checkin", label: msg("label-checkin").replace("{name}", label),
                  url: urls.checkins.replace("{id}", state.server_id != null ? state.server_id : "{patrol:" + state.client_id + "}"),
                  depends_on: state.server_id == null ? state.client_id : null, json: body });
      mine = id;
      return adds.reduce(function (done, item) { return done.then(function () { return Outbox.add(item); }); }, Promise.resolve())
        .then(function () {
          if (point) state.checkins[point.id] = { state: "waiting", client_id: id, recorded_at: body.recorded_at };
          localStorage.setItem(key, JSON.stringify(state));
        });
    }
  });
})();

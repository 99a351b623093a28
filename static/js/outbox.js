/* The outbox: every write a phone makes is saved in IndexedDB with its client_id *before* it is sent,
   then sent one at a time, oldest first, with back-off, until the server answers 2xx.
   Items are frozen once queued; only their delivery state changes. Runs in pages and in the service worker. */
(function (root) {
  "use strict";
  var DB_NAME = "volunteers";
  var RETRYABLE = { 408: true, 429: true };
  // Back-off doubles from 2 s up to 5 min; a plain request gives up after 30 s, one with photos after 2 min.
  // offlineMaxMs: while /healthz does not answer, look again at least this often (a probe is cheap), so the
  // queue moves soon after the signal comes back even if no "online" event fires.
  var config = { baseMs: 2000, maxMs: 5 * 60 * 1000, offlineMaxMs: 15000, timeoutMs: 30000, photoTimeoutMs: 120000 };
  var channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("outbox") : null;
  var listeners = [];
  var flushing = null;
  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        var items = db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        items.createIndex("user", "user");
        db.createObjectStore("ids", { keyPath: "client_id" });
        db.createObjectStore("meta", { keyPath: "key" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }

  function run(storeName, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
        var out = work(tx.objectStore(storeName));
        if (out) out.onsuccess = function () { result = out.result; };
      });
    });
  }

  function emit(event) {
    listeners.forEach(function (fn) { try { fn(event); } catch (e) { /* a listener's bug must not stop delivery */ } });
    if (channel) channel.postMessage(event);
  }
  if (channel) channel.onmessage = function (msg) {
    listeners.forEach(function (fn) { try { fn(msg.data); } catch (e) { /* idem */ } });
  };

  function getMeta(key) {
    return run("meta", "readonly", function (s) { return s.get(key); }).then(function (row) { return row ? row.value : null; });
  }
  function setMeta(key, value) {
    return run("meta", "readwrite", function (s) { return s.put({ key: key, value: value }); });
  }

  function list(user) {
    return run("outbox", "readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).filter(function (r) { return user == null || r.user === user; })
        .sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function put(item) { return run("outbox", "readwrite", function (s) { return s.put(item); }); }
  function get(seq) { return run("outbox", "readonly", function (s) { return s.get(seq); }); }

  function serverId(clientId) {
    return run("ids", "readonly", function (s) { return s.get(clientId); }).then(function (row) { return row ? row.server_id : null; });
  }

  /* item: {user, client_id, kind, label, url, json | parts, depends_on}. URL parts like
     {patrol:<client_id>} are filled with the server id once that patrol has been sent. */
  function newRow(item) {
    return {
      user: item.user, client_id: item.client_id, kind: item.kind, label: item.label || item.kind,
      method: item.method || "POST", url: item.url, json: item.json || null, parts: item.parts || null,
      depends_on: item.depends_on || null, created_at: new Date().toISOString(),
      state: "waiting", attempts: 0, next_try_at: 0, last_error: null, hold: null
    };
  }

  function wake() {
    if (root.registration && root.registration.sync) root.registration.sync.register("outbox").catch(function () {});
    else if (root.navigator && navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync) return reg.sync.register("outbox");
      }).catch(function () {});
    }
  }

  function add(item) {
    var row = newRow(item);
    return run("outbox", "readwrite", function (s) { return s.add(row); }).then(function (seq) {
      row.seq = seq;
      emit({ type: "added", item: row });
      wake();
      return row;
    });
  }

  function remove(seq) {
    return run("outbox", "readwrite", function (s) { return s.delete(seq); }).then(function () {
      emit({ type: "removed", seq: seq });
    });
  }

  function retry(seq) {
    return get(seq).then(function (row) {
      if (!row) return;
      row.state = "waiting";
      row.next_try_at = 0;
      return put(row).then(function () { emit({ type: "changed", item: row }); return flush(); });
    });
  }

  /* A corrected copy of a refused item takes its place: the new one (with a new client_id) is queued and the old
     one removed in one transaction, so neither both nor none are ever kept. */
  function replace(seq, item) {
    var row = newRow(item);
    return run("outbox", "readwrite", function (s) {
      s.delete(seq);
      return s.add(row);
    }).then(function (newSeq) {
      row.seq = newSeq;
      emit({ type: "removed", seq: seq });
      emit({ type: "added", item: row });
      wake();
      return row;
    });
  }

  function clearUser(user) {
    return list(user).then(function (rows) {
      return Promise.all(rows.map(function (r) { return remove(r.seq); }));
    });
  }

  function withTimeout(ms, promiseFn) {
    var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, ms);
    return promiseFn(controller ? controller.signal : undefined).then(function (v) {
      clearTimeout(timer); return v;
    }, function (e) { clearTimeout(timer); throw e; });
  }

  // Connectivity is what the server says, not what navigator.onLine guesses.
  function probe() {
    return withTimeout(Math.min(8000, config.timeoutMs), function (signal) {
      return fetch("/healthz", { cache: "no-store", credentials: "same-origin", signal: signal });
    }).then(function (r) { return r.ok; }, function () { return false; });
  }

  function backoff(attempts) {
    var base = Math.min(config.maxMs, config.baseMs * Math.pow(2, Math.max(0, attempts - 1)));
    return base / 2 + Math.random() * base / 2;
  }

  function resolveUrl(url) {
    var match = /\{patrol:([^}]+)\}/.exec(url);
    if (!match) return Promise.resolve(url);
    return serverId(match[1]).then(function (id) { return id == null ? null : url.replace(match[0], id); });
  }

  function body(item) {
    if (item.json) return { body: JSON.stringify(item.json), type: "application/json" };
    var form = new FormData();
    (item.parts || []).forEach(function (p) {
      if (p[2]) form.append(p[0], p[1], p[2]); else form.append(p[0], p[1]);
    });
    return { body: form, type: null };
  }

  function refreshCsrf() {
    return fetch("/csrf-token", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.token) return setMeta("csrf", data.token); });
  }

  function errorMessage(response) {
    return response.json().then(function (data) {
      return { code: data && data.error && data.error.code, message: (data && data.error && data.error.message) || ("HTTP " + response.status) };
    }, function () { return { code: null, message: "HTTP " + response.status }; });
  }

  function markRetry(item, message) {
    item.attempts += 1;
    item.state = "waiting";
    item.last_error = message;
    var wait = backoff(item.attempts);
    item.next_try_at = Date.now() + (message === "offline" ? Math.min(wait, config.offlineMaxMs) : wait);
    return put(item).then(function () { emit({ type: "changed", item: item }); return "wait"; });
  }

  function send(item) {
    return Promise.all([resolveUrl(item.url), getMeta("csrf")]).then(function (got) {
      var url = got[0];
      if (url == null) return "blocked";
      var payload = body(item);
      var headers = { "Accept": "application/json", "X-Device-Time": new Date().toISOString() };
      if (got[1]) headers["X-CSRFToken"] = got[1];
      if (payload.type) headers["Content-Type"] = payload.type;
      item.state = "sending";
      emit({ type: "changed", item: item });
      return withTimeout(item.parts ? config.photoTimeoutMs : config.timeoutMs, function (signal) {
        return fetch(url, { method: item.method, headers: headers, body: payload.body, credentials: "same-origin", signal: signal });
      }).then(function (response) {
        if (response.ok) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            var saveId = data && data.id != null
              ? run("ids", "readwrite", function (s) { return s.put({ client_id: item.client_id, server_id: data.id, kind: item.kind }); })
              : Promise.resolve();
            return saveId.then(function () { return remove(item.seq); }).then(function () {
              emit({ type: "sent", item: item, response: data });
              return "sent";
            });
          });
        }
        return errorMessage(response).then(function (err) {
          if (response.status === 400 && err.code === "csrf" && item.attempts < 3) {
            return refreshCsrf().then(function () { return markRetry(item, err.message); });
          }
          // Logged out (401), or a password reset by someone else that must be replaced first (403 with its code):
          // the item is fine and is kept; it goes once the person logs in or chooses a new password.
          var hold = response.status === 401 ? "login"
            : response.status === 403 && err.code === "password_change_required" ? "password" : null;
          if (hold) {
            item.state = "waiting";
            item.hold = hold;
            item.last_error = err.message;
            return put(item).then(function () { emit({ type: "changed", item: item }); return "stop"; });
          }
          item.hold = null;
          if (response.status >= 500 || RETRYABLE[response.status]) return markRetry(item, err.message);
          item.state = "stuck";
          item.last_error = err.message;
          return put(item).then(function () { emit({ type: "stuck", item: item, status: response.status, error: err }); return "stuck"; });
        });
      }, function (e) {
        return markRetry(item, e && e.name === "AbortError" ? "timeout" : String(e && e.message || e));
      });
    });
  }

  // Oldest first; an item whose patrol has not been sent yet waits behind it.
  function nextItem(rows) {
    var pending = {};
    rows.forEach(function (r) { pending[r.client_id] = r; });
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (r.state === "stuck") continue;
      if (r.depends_on && pending[r.depends_on]) continue;
      return r;
    }
    return null;
  }

  var timer = null;
  function schedule(at) {
    if (typeof setTimeout === "undefined" || root.registration) return;
    clearTimeout(timer);
    timer = setTimeout(function () { flush(); }, Math.max(500, at - Date.now()));
  }

  function drain(opts) {
    return getMeta("user").then(function (user) {
      if (user == null) return "no-user";
      return list(user).then(function (rows) {
        var item = nextItem(rows);
        if (!item) return "empty";
        if (item.next_try_at > Date.now() && !(opts && opts.now)) { schedule(item.next_try_at); return "later"; }
        return probe().then(function (up) {
          if (!up) return markRetry(item, "offline").then(function () { schedule(item.next_try_at); return "offline"; });
          return send(item).then(function (outcome) {
            if (outcome === "stop") return outcome;
            if (outcome === "wait") { schedule(item.next_try_at); return outcome; }
            return drain({});
          });
        });
      });
    });
  }

  /* Send what is waiting. One run at a time; resolves when the queue is empty or has to wait.
     In the service worker, a run that ends offline rejects so Background Sync tries again later. */
  var again = false;  // a "send now" (online, a new item) that came while a run was busy, e.g. probing offline
  function flush(opts) {
    if (flushing) {
      if (opts && opts.now) again = true;
      return flushing;
    }
    flushing = drain(opts || {}).then(function (outcome) {
      flushing = null;
      if (again && outcome !== "empty") { again = false; return flush({ now: true }); }
      again = false;
      emit({ type: "flushed", outcome: outcome });
      if (opts && opts.fromWorker && (outcome === "offline" || outcome === "wait")) throw new Error("retry later");
      return outcome;
    }, function (e) { flushing = null; throw e; });
    return flushing;
  }

  root.Outbox = {
    config: config,
    add: add, replace: replace, list: list, get: get, remove: remove, retry: retry, flush: flush, clearUser: clearUser,
    getMeta: getMeta, setMeta: setMeta, serverId: serverId,
    on: function (fn) { listeners.push(fn); },
    newId: function () {
      if (root.crypto && crypto.randomUUID) return crypto.randomUUID();
      return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
        return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
      });
    }
  };
})(typeof self !== "undefined" ? self : this);

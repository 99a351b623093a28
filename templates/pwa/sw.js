/* 平安志愿者 service worker, version {{ version }} (a hash of the app-shell assets).
   Pages: network first (with a time limit), then the cached copy, then the offline page; a poster's /c/<code>
   link falls back to the precached scan page instead.
   CSS/JS: stale-while-revalidate. Images and photos: cache first, capped.
   Never cached: anything but GET, htmx partials, the API (except the caller's own checkpoints), /healthz. */
"use strict";
var VERSION = "{{ version }}";
var SHELL = "shell-" + VERSION;
var PAGES = "pages-v1";
var IMAGES = "images-v1";
var DATA = "data-v1";
var PRECACHE = {{ precache|safe }};
var OFFLINE_KIT = {{ kit|safe }};  // kept after the first login (or at once after an update), not at install
var OFFLINE_URL = "{{ offline_url }}";
var SCAN_SHELL_URL = "{{ scan_shell_url }}";
var CHECKPOINTS_URL = "/api/v1/checkpoints";
var PAGE_TIMEOUT_MS = 6000;
var MAX_IMAGES = 80;
var MAX_PAGES = 40;

importScripts("/static/js/outbox.js");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    // "no-cache" revalidates: an unchanged file costs a 304, not a second download.
    return cache.addAll(PRECACHE.map(function (url) { return new Request(url, { cache: "no-cache" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  var keep = [SHELL, PAGES, IMAGES, DATA];
  event.waitUntil(caches.keys().then(function (keys) {
    // An update of a phone that already had an app shell: keep the offline kit again at once (someone may go out
    // with no signal before the next login). A first install waits for the login's "warm".
    var updated = keys.some(function (k) { return k.indexOf("shell-") === 0 && k !== SHELL; });
    return Promise.all(keys.filter(function (k) { return keep.indexOf(k) < 0; }).map(function (k) { return caches.delete(k); }))
      .then(function () { return self.clients.claim(); })
      .then(function () { if (updated) return keepKit(); });
  }));
});

// The offline kit (the report form's map, the scanner's decoder, the poster page) into the shell's cache, each file
// once: a phone that has it costs a cache look-up, not a download.
function keepKit() {
  return caches.open(SHELL).then(function (cache) {
    return Promise.all(OFFLINE_KIT.map(function (url) {
      return cache.match(url).then(function (hit) {
        return hit || cache.add(new Request(url, { cache: "no-cache" })).catch(function () {});
      });
    }));
  });
}

function trim(cacheName, max) {
  return caches.open(cacheName).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.slice(0, Math.max(0, keys.length - max)).map(function (k) { return cache.delete(k); }));
    });
  });
}

function cacheable(response) {
  if (!response || response.status !== 200 || response.type !== "basic") return false;
  var cc = response.headers.get("Cache-Control") || "";
  return cc.indexOf("no-store") < 0;
}

function timeout(ms) {
  return new Promise(function (_, reject) { setTimeout(function () { reject(new Error("timeout")); }, ms); });
}

// Pages kept in the last few seconds (path → time): the login's "warm" right after does not fetch them again.
var justKept = {};
var JUST_KEPT_MS = 30000;

// Pages: a weak signal must not leave an elderly volunteer staring at a white screen.
function networkFirst(request) {
  var network = fetch(request).then(function (response) {
    if (cacheable(response)) {
      var copy = response.clone();
      var path = new URL(request.url).pathname + new URL(request.url).search;
      caches.open(PAGES).then(function (c) { return c.put(request, copy); }).then(function () {
        justKept[path] = Date.now();
        trim(PAGES, MAX_PAGES);
      });
    }
    return response;
  });
  return Promise.race([network, timeout(PAGE_TIMEOUT_MS)]).catch(function () {
    return caches.match(request, { ignoreSearch: false }).then(function (hit) {
      if (hit) return hit;
      return network.catch(function () {
        return caches.match(OFFLINE_URL);
      });
    });
  });
}

// A poster's link /c/<code>: always the server's page when it answers (never kept: a cached copy's 签到 button posts
// to the server), else the precached scan page, which reads the code from the address and queues the check-in.
function scanPage(request) {
  return Promise.race([fetch(request), timeout(PAGE_TIMEOUT_MS)]).catch(function () {
    return caches.match(SCAN_SHELL_URL).then(function (hit) { return hit || caches.match(OFFLINE_URL); });
  });
}

function staleWhileRevalidate(request) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (hit) {
      var refresh = fetch(request).then(function (response) {
        if (cacheable(response)) cache.put(request, response.clone());
        return response;
      });
      if (hit) { refresh.catch(function () {}); return hit; }
      return refresh;
    });
  });
}

function cacheFirst(request, cacheName, max) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (cacheable(response)) {
        var copy = response.clone();
        caches.open(cacheName).then(function (c) { return c.put(request, copy); }).then(function () { trim(cacheName, max); });
      }
      return response;
    });
  });
}

// The caller's own must-visit points, so a patrol can start with no signal.
function networkThenCache(request) {
  return fetch(request).then(function (response) {
    if (cacheable(response)) {
      var copy = response.clone();
      caches.open(DATA).then(function (c) { return c.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The 签到 tap on a poster's page that the signal left in between: instead of the browser's error page, the scan
  // page again, whose tap queues it (the POST itself goes through untouched and is never kept).
  if (request.method === "POST" && request.mode === "navigate" && url.pathname.indexOf("/c/") === 0) {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(SCAN_SHELL_URL).then(function (hit) { return hit || caches.match(OFFLINE_URL); });
    }));
    return;
  }
  if (request.method !== "GET") return;
  if (request.headers.get("HX-Request")) return;  // partials are never cached
  if (url.pathname === "/healthz" || url.pathname === "/sw.js") return;
  if (url.pathname.indexOf("/api/") === 0) {
    if (url.pathname === CHECKPOINTS_URL) event.respondWith(networkThenCache(request));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    if (/\.(png|jpe?g|webp|svg|ico)$/.test(url.pathname)) {
      event.respondWith(cacheFirst(request, IMAGES, MAX_IMAGES));
    } else {
      event.respondWith(staleWhileRevalidate(request));
    }
    return;
  }
  if (url.pathname.indexOf("/photos/") === 0) {
    event.respondWith(cacheFirst(request, IMAGES, MAX_IMAGES));
    return;
  }
  var page = request.mode === "navigate" || (request.headers.get("Accept") || "").indexOf("text/html") >= 0;
  if (page && url.pathname.indexOf("/c/") === 0 && url.pathname !== SCAN_SHELL_URL) {
    event.respondWith(scanPage(request));
  } else if (page) {
    event.respondWith(networkFirst(request));
  }
});

// Background Sync: the browser wakes us when the connection is back, even with the app closed.
self.addEventListener("sync", function (event) {
  // The browser fires this when the signal is back: send at once, not after the back-off of the last failed try
  // (a timer in a worker nobody looks at may never run).
  if (event.tag === "outbox") event.waitUntil(self.Outbox.flush({ fromWorker: true, now: true }));
});

// After login the page asks us to keep the few pages a volunteer needs with no signal, and we keep their
// must-visit points too: the scan page checks a poster's code against them on a phone with no signal.
function warm(urls) {
  function fetchKeep(cacheName, url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (cacheable(response) && !response.redirected) {
        return caches.open(cacheName).then(function (cache) { return cache.put(url, response); });
      }
    }).catch(function () {});
  }
  // The page that asked was usually kept a moment ago on its way in (the home after login): not downloaded twice.
  function keepPage(url) {
    if (Date.now() - (justKept[url] || 0) > JUST_KEPT_MS) return fetchKeep(PAGES, url);
    return caches.open(PAGES).then(function (c) { return c.match(url); }).then(function (hit) {
      if (!hit) return fetchKeep(PAGES, url);
    });
  }
  return Promise.all(urls.map(keepPage).concat([fetchKeep(DATA, CHECKPOINTS_URL)]));
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "claim") event.waitUntil(self.clients.claim());
  if (data.type === "warm" && Array.isArray(data.urls)) event.waitUntil(Promise.all([keepKit(), warm(data.urls)]));
  if (data.type === "clear-user-data") {
    event.waitUntil(Promise.all([caches.delete(PAGES), caches.delete(IMAGES), caches.delete(DATA)]));
  }
});

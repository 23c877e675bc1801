/* citydash's service worker, served at /sw.js (scope "/") by dashboard/http/pwa.py, which fills in VERSION and
 * PUBLIC_PAGES. It keeps the app shell and the last public pages seen, and shows them offline, marked as such.
 *
 * What it never does (tests/dashboard/test_browser_pwa.py checks it):
 *  - touch anything but GET: POST answers (comments sent, photos, Dash callbacks) go to the network untouched;
 *  - store officials' pages, tracking pages, mail links, /report/ endpoints, photos or the API: only the public
 *    pages listed in PUBLIC_PAGES and the shell (assets, Dash's scripts, layout and callback list) are stored;
 *  - store a response marked "no-store" or "private" (the server marks every answer to a signed-in official so).
 */
"use strict";
var VERSION = "__VERSION__";
var PUBLIC_PAGES = __PUBLIC_PAGES__.map(function (p) { return new RegExp("^(?:" + p + ")/?$"); });
var SHELL = "citydash-shell-" + VERSION;
var PAGES = "citydash-pages-" + VERSION;
var MAX_PAGES = 30;  // the last pages seen, oldest dropped first
var SHELL_PATHS = [/^\/assets\//, /^\/_dash-component-suites\//, /^\/_dash-layout$/, /^\/_dash-dependencies$/,
                   /^\/manifest\.webmanifest$/, /^\/icons\/[a-z0-9-]+\.png$/, /^\/_favicon\.ico$/];

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("citydash-") === 0 && n !== SHELL && n !== PAGES; })
      .map(function (n) { return caches["delete"](n); }));
  }).then(function () { return self.clients.claim(); }));
});

function storable(resp) {
  var cc = (resp.headers.get("Cache-Control") || "").toLowerCase();
  return resp.ok && resp.type === "basic" && cc.indexOf("no-store") < 0 && cc.indexOf("private") < 0;
}

// A copy of the response with the time it was saved (the offline note says how old the figures are).
function stamped(resp) {
  return resp.clone().blob().then(function (body) {
    var headers = new Headers(resp.headers);
    headers.set("X-Citydash-Saved", new Date().toISOString());
    headers["delete"]("Content-Length");  // the body is stored decoded
    headers["delete"]("Content-Encoding");
    return new Response(body, {status: resp.status, statusText: resp.statusText, headers: headers});
  });
}

function remember(cacheName, request, resp, limit) {
  if (!storable(resp)) { return Promise.resolve(); }
  return Promise.all([caches.open(cacheName), stamped(resp)]).then(function (r) {
    return r[0].put(request, r[1]).then(function () {
      if (!limit) { return undefined; }
      return r[0].keys().then(function (keys) {
        return Promise.all(keys.slice(0, Math.max(0, keys.length - limit)).map(function (k) { return r[0]["delete"](k); }));
      });
    });
  });
}

// The saved page with a note at the top of <body> that assets/pwa.js fills in ("Offline: figures from <time>").
function offlineCopy(cached) {
  return cached.text().then(function (html) {
    var saved = (cached.headers.get("X-Citydash-Saved") || "").replace(/[^0-9TZ:.\-]/g, "");
    var note = '<div id="offline-note" class="offline-note" role="status" data-saved="' + saved + '"></div>';
    var headers = new Headers(cached.headers);
    headers.set("X-Citydash-Offline", "1");
    headers["delete"]("Content-Length");
    return new Response(html.replace(/<body([^>]*)>/i, "<body$1>" + note), {status: 200, headers: headers});
  });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }  // never answered or stored here
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  var path = url.pathname;
  if (req.mode === "navigate") {
    if (!PUBLIC_PAGES.some(function (re) { return re.test(path); })) { return; }
    event.respondWith(fetch(req).then(function (resp) {
      event.waitUntil(remember(PAGES, req, resp, MAX_PAGES));
      return resp;
    }, function (err) {
      return caches.open(PAGES).then(function (c) { return c.match(req); }).then(function (cached) {
        if (!cached) { throw err; }
        return offlineCopy(cached);
      });
    }));
    return;
  }
  if (!SHELL_PATHS.some(function (re) { return re.test(path); })) { return; }
  // The shell: from the network when it answers (so a new release is seen at once), else the saved copy.
  event.respondWith(fetch(req).then(function (resp) {
    event.waitUntil(remember(SHELL, req, resp, 0));
    return resp;
  }, function (err) {
    return caches.open(SHELL).then(function (c) { return c.match(req); }).then(function (cached) {
      if (!cached) { throw err; }
      return cached;
    });
  }));
});

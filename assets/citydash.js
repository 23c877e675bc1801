/* citydash in the browser: a few small jobs, no framework.
 * 1. Remove the server-rendered first paint (#first-paint) once Dash has drawn the live page.
 * 2. Deferred slots ([data-ready-store]): when one is wanted, load the partial plotly.js bundle it names
 *    (data-plotly "map" or "charts": <meta name="citydash-plotly"> or "citydash-plotly-charts") once, then set the
 *    slot's dcc.Store so a callback fills it. If the bundle cannot load, the store is set anyway and Dash falls
 *    back to its own plotly.js. On a wide screen (>= 1024 px: a PC) a slot is wanted when it comes within 200 px
 *    of the screen. On a phone or tablet, when half of it is on screen, or, once the visitor has scrolled, touched
 *    or pressed a key, when it comes within 200 px: a chart that only peeks above the fold of a phone does not
 *    cost its bundle (0.4-0.9 MB on the wire) before the visitor does anything.
 * 3. Dash 4 wraps the native inputs of dcc.Checklist / dcc.RadioItems in role="listbox" / role="option", which
 *    nests interactive roles and leaves the list unnamed. Inside our fieldsets (whose legend names the group)
 *    the native checkboxes and radios already say everything, so those roles are removed. Its dcc.Dropdown's
 *    hidden focus relay leaves the tab order and the dropdown's own button takes its place.
 * 4. The header's Menu button (phones): toggles its aria-expanded, which the CSS follows to show the menu; Escape
 *    closes it and gives the focus back to the button. A listener on the document, so it works on the
 *    server-rendered first paint as well as on the live page, without a Dash callback.
 * 5. Wide tables (.table-box): data-overflow is set while the table is wider than its box, to show the words
 *    "scroll sideways" under it.
 * 6. A <details data-sync-open> (a "Show the data as a table" whose tables are drawn when it opens): its open state
 *    is copied to Dash on every toggle (click, keyboard or the browser's find), so that a callback fills it. Opened
 *    on the first paint before Dash drew the live page, the live one opens too.
 * 7. dash_clientside.citydash.syncQuery: keep the page's filters in the URL (history.replaceState, which Dash's
 *    dcc.Location does not listen to, so the page is not re-rendered) so that a view can be shared.
 */
(function () {
  "use strict";
  var bundles = {};  // kind -> promise
  var loadedKind = null;

  function loadScript(src) {
    return new Promise(function (resolve) {
      var s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = function () { resolve(true); };
      s.onerror = function () { resolve(false); };
      document.head.appendChild(s);
    });
  }

  function loadPlotly(kind) {
    // The map bundle holds every trace type; the charts bundle only what the indicator pages draw.
    if (window.Plotly && (loadedKind === "map" || loadedKind === kind || !loadedKind)) return Promise.resolve();
    if (bundles[kind]) return bundles[kind];
    var meta = document.querySelector(kind === "charts" ? 'meta[name="citydash-plotly-charts"]'
      : 'meta[name="citydash-plotly"]');
    if (!meta) return Promise.resolve();
    var locale = document.querySelector('meta[name="citydash-plotly-locale"]');
    bundles[kind] = loadScript(meta.getAttribute("content")).then(function (ok) {
      if (ok) loadedKind = kind;
      // The page's language for month and day names on date axes (registers itself with Plotly).
      return ok && locale ? loadScript(locale.getAttribute("content")) : null;
    });
    return bundles[kind];
  }

  var done = new WeakSet();

  function markReady(el) {
    if (done.has(el)) return;
    done.add(el);
    if (hasObserver) { nearObserver.unobserve(el); inViewObserver.unobserve(el); near.delete(el); }
    var id = el.getAttribute("data-ready-store");
    loadPlotly(el.getAttribute("data-plotly") === "charts" ? "charts" : "map").then(function () {
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(id, { data: Date.now() });
      }
    });
  }

  var interacted = window.matchMedia && window.matchMedia("(min-width: 1024px)").matches;
  var near = new Set();  // slots within 200 px of the screen, waiting for the visitor's first move
  var hasObserver = "IntersectionObserver" in window;
  var nearObserver = hasObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting) { near.delete(e.target); return; }
      if (interacted) markReady(e.target); else near.add(e.target);
    });
  }, { rootMargin: "200px 0px" }) : null;
  var inViewObserver = hasObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.intersectionRatio >= 0.5) markReady(e.target); });
  }, { threshold: [0.5] }) : null;

  function onFirstMove() {
    if (interacted) return;
    interacted = true;
    near.forEach(markReady);
    near.clear();
  }
  ["scroll", "wheel", "touchstart", "pointerdown", "keydown"].forEach(function (type) {
    window.addEventListener(type, onFirstMove, { passive: true, capture: true });
  });

  var seen = new WeakSet();

  function scan() {
    var entry = document.getElementById("react-entry-point");
    var fp = document.getElementById("first-paint");
    if (fp && entry && entry.querySelector(".frame")) {
      fp.querySelectorAll("details[data-sync-open][open]").forEach(function (d) {
        var live = d.id && entry.querySelector('details[id="' + d.id + '"]');
        if (live && !live.open) live.open = true;  // its toggle event tells Dash
      });
      fp.remove();
    }
    if (!entry) return;
    entry.querySelectorAll('fieldset [role="listbox"], fieldset [role="option"]').forEach(function (el) {
      el.removeAttribute("role");
      el.removeAttribute("aria-selected");
    });
    // Dash 4's dcc.Dropdown puts an aria-hidden input in the tab order that hands the focus on to its button, which
    // it keeps out of the tab order (axe: aria-hidden-focus). Swap them: the button, which has the name and the
    // keyboard handling, is the tab stop; the hidden relay is not.
    entry.querySelectorAll('.dash-dropdown-focus-target[aria-hidden="true"]').forEach(function (el) {
      var button = el.parentElement && el.parentElement.querySelector("button.dash-dropdown");
      if (!button || button.disabled) return;
      if (el.tabIndex !== -1) el.tabIndex = -1;
      if (button.tabIndex !== 0) button.tabIndex = 0;
    });
    entry.querySelectorAll("[data-ready-store]").forEach(function (el) {
      if (seen.has(el)) return;
      seen.add(el);
      if (!hasObserver) { markReady(el); return; }
      nearObserver.observe(el);
      inViewObserver.observe(el);
    });
  }

  function markOverflow() {
    document.querySelectorAll(".table-box").forEach(function (box) {
      var sc = box.querySelector(".table-scroll");
      if (!sc || !sc.clientWidth) return;  // inside a closed <details>: measured when it opens
      if (sc.scrollWidth > sc.clientWidth + 1) box.setAttribute("data-overflow", "");
      else box.removeAttribute("data-overflow");
    });
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest(".menu-button");
    if (!btn) return;
    btn.setAttribute("aria-expanded", btn.getAttribute("aria-expanded") === "true" ? "false" : "true");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll('.menu-button[aria-expanded="true"]').forEach(function (btn) {
      btn.setAttribute("aria-expanded", "false");
      btn.focus();
    });
  });
  document.addEventListener("toggle", markOverflow, true);  // a <details> opened: its tables can be measured
  document.addEventListener("toggle", function (ev) {  // "toggle" does not bubble: listened to on the way down
    var d = ev.target;
    if (!d.hasAttribute || !d.hasAttribute("data-sync-open") || !d.id || d.closest("#first-paint")) return;
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(d.id, { open: d.open });
    }
  }, true);
  window.addEventListener("resize", markOverflow);
  document.addEventListener("DOMContentLoaded", markOverflow);  // plain HTML pages: nothing mutates after load

  var overflowTimer = null;
  new MutationObserver(function () {
    clearTimeout(overflowTimer);
    overflowTimer = setTimeout(markOverflow, 100);
  }).observe(document.documentElement, { childList: true, subtree: true });

  // Dash draws a page in many small commits: one scan per frame, however many mutations came in it.
  var scanQueued = false;
  function queueScan() {
    if (scanQueued) return;
    scanQueued = true;
    window.requestAnimationFrame(function () { scanQueued = false; scan(); });
  }
  new MutationObserver(queueScan).observe(document.documentElement,
    { childList: true, subtree: true, attributes: true, attributeFilter: ["role"] });
  document.addEventListener("DOMContentLoaded", scan);

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.citydash = {
    syncQuery: function () {
      var args = Array.prototype.slice.call(arguments);
      var keys = args.pop() || [];
      var params = new URLSearchParams(window.location.search);
      keys.forEach(function (k, i) {
        var v = args[i];
        if (v === null || v === undefined || v === "") params.delete(k); else params.set(k, String(v));
      });
      var q = params.toString();
      window.history.replaceState(window.history.state, "", window.location.pathname + (q ? "?" + q : ""));
      return q;
    }
  };
})();

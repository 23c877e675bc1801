/* citydash in the browser: a few small jobs, no framework.
 * 1. Remove the server-rendered first paint (#first-paint) once Dash has drawn the live page.
 * 2. Deferred slots ([data-ready-store]): when one comes near the viewport, load the partial plotly.js bundle
 *    (named by <meta name="citydash-plotly">) once, then set the slot's dcc.Store so a callback fills it.
 *    If the bundle cannot load, the store is set anyway and Dash falls back to its own plotly.js.
 * 3. Dash 4 wraps the native inputs of dcc.Checklist / dcc.RadioItems in role="listbox" / role="option", which
 *    nests interactive roles and leaves the list unnamed. Inside our fieldsets (whose legend names the group)
 *    the native checkboxes and radios already say everything, so those roles are removed.
 * 4. The header's Menu button (phones): toggles its aria-expanded, which the CSS follows to show the menu; Escape
 *    closes it and gives the focus back to the button. A listener on the document, so it works on the
 *    server-rendered first paint as well as on the live page, without a Dash callback.
 * 5. Wide tables (.table-box): data-overflow is set while the table is wider than its box, to show the words
 *    "scroll sideways" under it.
 * 6. dash_clientside.citydash.syncQuery: keep the page's filters in the URL (history.replaceState, which Dash's
 *    dcc.Location does not listen to, so the page is not re-rendered) so that a view can be shared.
 */
(function () {
  "use strict";
  var bundlePromise = null;

  function loadScript(src) {
    return new Promise(function (resolve) {
      var s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = resolve;
      s.onerror = resolve;
      document.head.appendChild(s);
    });
  }

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve();
    if (bundlePromise) return bundlePromise;
    var meta = document.querySelector('meta[name="citydash-plotly"]');
    if (!meta) return Promise.resolve();
    var locale = document.querySelector('meta[name="citydash-plotly-locale"]');
    bundlePromise = loadScript(meta.getAttribute("content")).then(function () {
      // The page's language for month and day names on date axes (registers itself with Plotly).
      return locale ? loadScript(locale.getAttribute("content")) : null;
    });
    return bundlePromise;
  }

  function markReady(el) {
    var id = el.getAttribute("data-ready-store");
    loadPlotly().then(function () {
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props(id, { data: Date.now() });
      }
    });
  }

  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) {
        observer.unobserve(e.target);
        markReady(e.target);
      }
    });
  }, { rootMargin: "200px 0px" }) : null;
  var seen = new WeakSet();

  function scan() {
    var entry = document.getElementById("react-entry-point");
    var fp = document.getElementById("first-paint");
    if (fp && entry && entry.querySelector(".frame")) fp.remove();
    if (!entry) return;
    entry.querySelectorAll('fieldset [role="listbox"], fieldset [role="option"]').forEach(function (el) {
      el.removeAttribute("role");
      el.removeAttribute("aria-selected");
    });
    entry.querySelectorAll("[data-ready-store]").forEach(function (el) {
      if (seen.has(el)) return;
      seen.add(el);
      if (observer) observer.observe(el); else markReady(el);
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
  window.addEventListener("resize", markOverflow);

  var overflowTimer = null;
  new MutationObserver(function () {
    clearTimeout(overflowTimer);
    overflowTimer = setTimeout(markOverflow, 100);
  }).observe(document.documentElement, { childList: true, subtree: true });

  new MutationObserver(scan).observe(document.documentElement,
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

/* The installable app: registers the service worker (/sw.js, dashboard/http/pwa.py) and, on a page the worker
 * served from its saved copy, says so: "Offline: figures from <time>" (the words from <meta name="citydash-offline">,
 * in the page's language; the time in the browser's locale). */
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () { /* no offline copy then */ });
    });
  }
  function markOffline() {
    var note = document.getElementById("offline-note");
    if (!note || note.textContent) { return; }
    var meta = document.querySelector('meta[name="citydash-offline"]');
    var words = meta ? meta.getAttribute("content") : "Offline: figures from {time}";
    var saved = new Date(note.getAttribute("data-saved") || "");
    var when = isNaN(saved.getTime()) ? "?" : saved.toLocaleString(document.documentElement.lang || undefined,
      {dateStyle: "medium", timeStyle: "short"});
    note.textContent = words.replace("{time}", when);
  }
  document.addEventListener("DOMContentLoaded", markOffline);
  markOffline();
})();

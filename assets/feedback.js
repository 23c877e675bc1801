/* Feedback panel (no inline script): a random id per browser, the map loaded on demand, tap-to-pin on the report
   map (the pin goes exactly where the map was tapped), "use my location", the character counter, photos, and Send
   with offline drafts: a comment sent without a network is kept on the phone (localStorage; its photos in
   IndexedDB) and sent, photos first, with the same client_key when the network is back. */
(function () {
  "use strict";
  // One support and one flag per browser per comment: this random id (hashed on the server) is the browser.
  try {
    if (!window.localStorage.getItem("fb-browser")) {
      var bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      var id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      window.localStorage.setItem("fb-browser", JSON.stringify(id));
    }
  } catch (e) { /* storage disabled: supports and flags will say so */ }

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) { window.dash_clientside.set_props(id, props); }
  }

  // Tap or click anywhere on the report map places the pin (a drag pans the map instead).
  var down = null;
  document.addEventListener("pointerdown", function (e) { down = [e.clientX, e.clientY]; }, true);
  document.addEventListener("click", function (e) {
    var holder = document.getElementById("report-map");
    if (!holder || !holder.contains(e.target) || !e.target.closest(".maplibregl-canvas-container")) { return; }
    if (down && Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 8) { return; }
    var gd = holder.querySelector(".js-plotly-plot") || holder;
    var sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    if (!sub || !sub.map) { return; }
    var rect = sub.map.getCanvas().getBoundingClientRect();
    var ll = sub.map.unproject([e.clientX - rect.left, e.clientY - rect.top]);
    setProps("report-click", {data: {lat: ll.lat, lon: ll.lng, source: "map", t: Date.now()}});
  }, true);

  // Photos: "Add a photo" opens the camera or the gallery; each photo uploads at once (POST list.dataset.path) and
  // shows a preview, its state and a Remove button. Send carries the ids of the uploaded ones. What the server
  // says is put in as text. With no network, the photo is kept in IndexedDB ("queued") and uploaded with the draft.
  function photoList() { return document.getElementById("report-photos"); }
  function photoIds() {
    var list = photoList();
    if (!list) { return []; }
    return Array.prototype.map.call(list.querySelectorAll("li[data-photo-id]"), function (li) { return li.dataset.photoId; });
  }
  function queuedPhotos() {
    var list = photoList();
    if (!list) { return []; }
    return Array.prototype.map.call(list.querySelectorAll("li[data-state='queued']"), function (li) { return li.dataset.queueKey; });
  }
  function photosPending() {
    var list = photoList();
    return !!(list && list.querySelector("li[data-state='uploading']"));
  }
  function randomKey() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // IndexedDB, one object store of queued photos: {blob, name} by key.
  function idb(mode, work) {
    return new Promise(function (resolve, reject) {
      var open = window.indexedDB.open("citydash-drafts", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("photos"); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var tx = open.result.transaction("photos", mode);
        var req = work(tx.objectStore("photos"));
        tx.oncomplete = function () { open.result.close(); resolve(req ? req.result : undefined); };
        tx.onerror = function () { open.result.close(); reject(tx.error); };
      };
    });
  }
  function keepPhoto(key, file) { return idb("readwrite", function (st) { return st.put({blob: file, name: file.name || "photo"}, key); }); }
  function queuedPhoto(key) { return idb("readonly", function (st) { return st.get(key); }); }
  function forgetPhoto(key) { return idb("readwrite", function (st) { return st["delete"](key); }).catch(function () {}); }

  // One upload: {ok: true, photo_id}, {ok: false, message} (the server refused it), or a rejected promise when
  // no answer came (no network).
  function uploadPhoto(path, blob, name, lang) {
    var form = new FormData();
    form.append("photo", blob, name || "photo");
    form.append("lang", lang || "");
    return fetch(path, {method: "POST", body: form, credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().catch(function () { return {ok: false}; }); });
  }
  function addPhoto(list, file, msgs, lang) {
    var li = document.createElement("li");
    li.className = "photo-item";
    li.dataset.state = "uploading";
    var img = document.createElement("img");
    img.alt = "";
    img.className = "photo-preview";
    img.src = URL.createObjectURL(file);
    var state = document.createElement("span");
    state.className = "photo-state";
    state.textContent = msgs.photo_uploading;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button secondary photo-remove";
    remove.textContent = msgs.photo_remove;
    remove.addEventListener("click", function () {
      URL.revokeObjectURL(img.src);
      if (li.dataset.queueKey) { forgetPhoto(li.dataset.queueKey); }
      li.remove();
    });
    li.append(img, state, remove);
    list.appendChild(li);
    function queue() {
      var key = randomKey();
      keepPhoto(key, file).then(function () {
        li.dataset.queueKey = key;
        li.dataset.state = "queued";
        state.textContent = msgs.photo_queued;
      }, function () { li.dataset.state = "refused"; state.textContent = msgs.photo_failed; });
    }
    if (navigator.onLine === false) { queue(); return; }
    uploadPhoto(list.dataset.path, file, file.name, lang)
      .then(function (answer) {
        if (answer && answer.ok === true && typeof answer.photo_id === "string") {
          li.dataset.photoId = answer.photo_id;
          li.dataset.state = "ready";
          state.textContent = msgs.photo_ready;
        } else {
          li.dataset.state = "refused";
          state.textContent = answer && typeof answer.message === "string" ? answer.message : msgs.photo_failed;
        }
      })
      .catch(queue);  // no answer: kept on the phone, sent with the comment
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("#report-photo-add");
    var list = photoList();
    if (!button || !list) { return; }
    var msgs = JSON.parse(list.dataset.msgs || "{}");
    var lang = list.dataset.lang || "";
    var most = parseInt(list.dataset.max || "0", 10);
    var input = document.createElement("input");
    input.type = "file";
    input.accept = "image/*";
    input.multiple = true;
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files || [], function (file) {
        if (list.querySelectorAll("li:not([data-state='refused'])").length >= most) {
          var full = document.getElementById("report-photo-hint");
          if (full) { full.textContent = msgs.photo_too_many; }
          return;
        }
        addPhoto(list, file, msgs, lang);
      });
    });
    input.click();
  });
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.citydash_feedback = {
    count: function (text, msgs) {
      var n = Array.from(text || "").length;
      return msgs && msgs.count ? msgs.count.replace("{n}", String(n)) : String(n);
    },
    locate: function (n, msgs) {
      if (!n) { return window.dash_clientside.no_update; }
      if (!navigator.geolocation) { return msgs.unsupported; }
      navigator.geolocation.getCurrentPosition(function (p) {
        setProps("report-click", {data: {lat: p.coords.latitude, lon: p.coords.longitude, source: "gps", t: Date.now()}});
        setProps("report-locate-status", {children: msgs.found});
      }, function () {
        setProps("report-locate-status", {children: msgs.denied});
      }, {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
      return msgs.finding;
    },
    openMap: function (n, msgs) {
      if (!n) { return window.dash_clientside.no_update; }
      loadMapBundle().then(function () { setProps("report-map-ready", {data: Date.now()}); });
      return msgs.map_loading;
    },
    // Send: every comment is first a draft kept on the phone (localStorage, photos in IndexedDB), then delivered
    // to the server's JSON endpoint. Everything the server says is put in as text (Dash renders strings as text
    // nodes), never as HTML. With no network the draft waits and is sent when the network is back, with the
    // same client_key, so that the server stores it once whatever happens in between.
    send: async function (n, pin, category, text, email, website, key, lang, msgs) {
      var keep = window.dash_clientside.no_update;
      if (!n) { return [keep, keep, keep, keep]; }
      if (photosPending()) {
        return [el("P", {className: "error", id: "report-error", "data-field": "photos"}, msgs.photo_wait), keep, keep, keep];
      }
      var draft = {body: {pin: pin, category: category, text: text, email: email, website: website,
                          client_key: key, lang: lang, photos: photoIds()},
                   queued: queuedPhotos()};
      saveDraft(draft);
      setProps("report-send", {disabled: true});
      var outcome;
      try { outcome = await deliver(draft); } finally { setProps("report-send", {disabled: false}); }
      if (outcome.kind === "offline") {
        watchNetwork();
        return [waitingNote(msgs), keep, keep, keep];
      }
      if (outcome.kind === "refused") { return [refusal(outcome.answer, msgs), keep, keep, keep]; }
      clearPhotos();
      return [confirmation(outcome.answer), outcome.answer.client_key, "", ""];
    }
  };

  // Drafts waiting for the network, oldest first, in localStorage: [{body, queued: [IndexedDB keys]}].
  var DRAFTS = "citydash-drafts";
  function drafts() {
    try { var d = JSON.parse(window.localStorage.getItem(DRAFTS) || "[]"); return Array.isArray(d) ? d : []; }
    catch (e) { return []; }
  }
  function storeDrafts(list) {
    try {
      if (list.length) { window.localStorage.setItem(DRAFTS, JSON.stringify(list)); }
      else { window.localStorage.removeItem(DRAFTS); }
    } catch (e) { /* storage full or disabled: the draft stays in the form */ }
  }
  function saveDraft(draft) {
    var list = drafts().filter(function (d) { return d.body.client_key !== draft.body.client_key; });
    list.push(draft);
    storeDrafts(list);
  }
  function dropDraft(key) { storeDrafts(drafts().filter(function (d) { return d.body.client_key !== key; })); }

  // Deliver one draft: its queued photos first (each becomes a photo id; a photo the server refuses is dropped),
  // then the comment. {kind: "sent" | "refused", answer} once the server has answered, {kind: "offline"} if not.
  async function deliver(draft) {
    var list = photoList();
    var path = (list && list.dataset.path) || "/report/photos";
    while (draft.queued && draft.queued.length) {
      var qkey = draft.queued[0];
      var kept = null;
      try { kept = await queuedPhoto(qkey); } catch (e) { kept = null; }
      if (kept) {
        var answer;
        try { answer = await uploadPhoto(path, kept.blob, kept.name, draft.body.lang); }
        catch (e) { return {kind: "offline"}; }
        if (answer && answer.ok === true && typeof answer.photo_id === "string") { draft.body.photos.push(answer.photo_id); }
      }
      draft.queued.shift();
      saveDraft(draft);
      forgetPhoto(qkey);
    }
    var r;
    try {
      r = await fetch(sendPath(), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify(draft.body)
      });
    } catch (e) { return {kind: "offline"}; }
    var body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (body === null && r.status >= 500) { return {kind: "offline"}; }  // a proxy's error page: try again later
    dropDraft(draft.body.client_key);
    return {kind: body && body.ok === true ? "sent" : "refused", answer: body};
  }

  function pageMsgs() {
    var box = document.getElementById("report-result");
    try { return JSON.parse((box && box.dataset.msgs) || "{}"); } catch (e) { return {}; }
  }
  function sendPath() { return pageMsgs().send_path || "/report/send"; }
  function waitingNote(msgs) { return el("P", {className: "waiting", id: "report-waiting"}, msgs.waiting); }
  function refusal(answer, msgs) {
    var message = answer && typeof answer.message === "string" ? answer.message : msgs.not_sent;
    var field = answer && typeof answer.field === "string" ? answer.field : "";
    return el("P", {className: "error", id: "report-error", "data-field": field}, message);
  }
  function confirmation(answer) {
    var parts = answer.lines.map(function (line, i) {
      return el("P", i === 0 ? {className: "success", id: "report-success"} : {}, line);
    });
    parts.push(el("P", {}, el("A", {href: answer["public"].href, id: "report-public-link"}, answer["public"].text)));
    if (answer.track) {
      parts.push(el("P", {}, [answer.track.label,
                              el("A", {href: answer.track.href, id: "report-track-link"}, answer.track.text)]));
    }
    return el("Div", {}, parts);
  }
  function clearPhotos() {
    var list = photoList();
    if (list) { list.replaceChildren(); }  // sent with the comment: the next comment starts with none
  }

  // When the network is back (or every FLUSH_MS while a draft waits), send what waits, on the report page only:
  // the confirmation, with its one-time tracking link, must be seen.
  var flushing = false;
  var FLUSH_MS = 10000;
  async function flush() {
    if (flushing || !document.getElementById("report-result") || navigator.onLine === false) { return; }
    flushing = true;
    try {
      var msgs = pageMsgs();
      var waiting = drafts();
      for (var i = 0; i < waiting.length; i++) {
        var outcome = await deliver(waiting[i]);
        if (outcome.kind === "offline") { setProps("report-result", {children: waitingNote(msgs)}); break; }
        if (outcome.kind === "refused") {
          setProps("report-text", {value: waiting[i].body.text || ""});  // the text comes back to be fixed
          setProps("report-result", {children: refusal(outcome.answer, msgs)});
        } else {
          clearPhotos();
          setProps("report-result", {children: confirmation(outcome.answer)});
          setProps("report-client-key", {data: outcome.answer.client_key});
          setProps("report-text", {value: ""});
          setProps("report-email", {value: ""});
        }
      }
    } finally { flushing = false; }
  }
  var watching = false;
  function watchNetwork() {
    if (watching) { return; }
    watching = true;
    window.addEventListener("online", flush);
    window.setInterval(function () { if (drafts().length) { flush(); } }, FLUSH_MS);
  }
  if (drafts().length) { watchNetwork(); }

  // The map's bundle (plotly.js with MapLibre), named by <meta name="citydash-plotly">, loaded once on demand. If
  // it cannot load, the map still opens and Dash falls back to its own plotly.js.
  var bundle = null;
  function loadMapBundle() {
    if (window.Plotly) { return Promise.resolve(); }
    if (bundle) { return bundle; }
    var meta = document.querySelector('meta[name="citydash-plotly"]');
    if (!meta) { return Promise.resolve(); }
    bundle = new Promise(function (resolve) {
      var s = document.createElement("script");
      s.src = meta.getAttribute("content");
      s.async = true;
      s.onload = resolve;
      s.onerror = resolve;
      document.head.appendChild(s);
    });
    return bundle;
  }

  // A Dash html component as the renderer takes it from a clientside callback.
  function el(type, props, children) {
    return {type: type, namespace: "dash_html_components", props: Object.assign({}, props, {children: children})};
  }
})();

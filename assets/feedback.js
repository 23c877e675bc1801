/* Feedback panel (no inline script): a random id per browser, tap-to-pin on the report map, "use my location",
   the character counter, and Send. */
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
    if (holder.querySelector(".hoverlayer .hovertext")) { return; }  // on a station: the map's clickData picks it
    var gd = holder.querySelector(".js-plotly-plot") || holder;
    var sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    if (!sub || !sub.map) { return; }
    var rect = sub.map.getCanvas().getBoundingClientRect();
    var ll = sub.map.unproject([e.clientX - rect.left, e.clientY - rect.top]);
    setProps("report-click", {data: {lat: ll.lat, lon: ll.lng, source: "map", t: Date.now()}});
  }, true);

  // Photos: "Add a photo" opens the camera or the gallery; each photo uploads at once (POST msgs.photo_path) and
  // shows a preview, its state and a Remove button. Send carries the ids of the uploaded ones. What the server
  // says is put in as text.
  function photoList() { return document.getElementById("report-photos"); }
  function photoIds() {
    var list = photoList();
    if (!list) { return []; }
    return Array.prototype.map.call(list.querySelectorAll("li[data-photo-id]"), function (li) { return li.dataset.photoId; });
  }
  function photosPending() {
    var list = photoList();
    return !!(list && list.querySelector("li[data-state='uploading']"));
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
    remove.addEventListener("click", function () { URL.revokeObjectURL(img.src); li.remove(); });
    li.append(img, state, remove);
    list.appendChild(li);
    var form = new FormData();
    form.append("photo", file);
    form.append("lang", lang || "");
    fetch(list.dataset.path, {method: "POST", body: form, credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
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
      .catch(function () { li.dataset.state = "refused"; state.textContent = msgs.photo_failed; });
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
    // Send: post the form to the server's JSON endpoint and draw its answer. Everything the server says is put in
    // as text (Dash renders strings as text nodes), never as HTML. On a refusal or no answer, the draft and its
    // key stay, so pressing Send again is a retry that the server recognises.
    send: async function (n, pin, category, text, email, website, key, lang, msgs) {
      var keep = window.dash_clientside.no_update;
      if (!n) { return [keep, keep, keep, keep]; }
      if (photosPending()) {
        return [el("P", {className: "error", id: "report-error", "data-field": "photos"}, msgs.photo_wait), keep, keep, keep];
      }
      var answer = null;
      setProps("report-send", {disabled: true});
      try {
        var r = await fetch(msgs.send_path, {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "Accept": "application/json"},
          body: JSON.stringify({pin: pin, category: category, text: text, email: email, website: website,
                                client_key: key, lang: lang, photos: photoIds()})
        });
        answer = await r.json();
      } catch (e) { answer = null; }
      finally { setProps("report-send", {disabled: false}); }
      if (!answer || answer.ok !== true) {
        var message = answer && typeof answer.message === "string" ? answer.message : msgs.not_sent;
        var field = answer && typeof answer.field === "string" ? answer.field : "";
        return [el("P", {className: "error", id: "report-error", "data-field": field}, message), keep, keep, keep];
      }
      var parts = answer.lines.map(function (line, i) {
        return el("P", i === 0 ? {className: "success", id: "report-success"} : {}, line);
      });
      parts.push(el("P", {}, el("A", {href: answer["public"].href, id: "report-public-link"}, answer["public"].text)));
      if (answer.track) {
        parts.push(el("P", {}, [answer.track.label,
                                el("A", {href: answer.track.href, id: "report-track-link"}, answer.track.text)]));
      }
      var list = photoList();
      if (list) { list.replaceChildren(); }  // sent with the comment: the next comment starts with none
      return [el("Div", {}, parts), answer.client_key, "", ""];
    }
  };

  // A Dash html component as the renderer takes it from a clientside callback.
  function el(type, props, children) {
    return {type: type, namespace: "dash_html_components", props: Object.assign({}, props, {children: children})};
  }
})();

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
      var answer = null;
      setProps("report-send", {disabled: true});
      try {
        var r = await fetch(msgs.send_path, {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "Accept": "application/json"},
          body: JSON.stringify({pin: pin, category: category, text: text, email: email, website: website,
                                client_key: key, lang: lang})
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
      return [el("Div", {}, parts), answer.client_key, "", ""];
    }
  };

  // A Dash html component as the renderer takes it from a clientside callback.
  function el(type, props, children) {
    return {type: type, namespace: "dash_html_components", props: Object.assign({}, props, {children: children})};
  }
})();

/* Officials' moderation (no inline script): drag across a photo to mark the region to blur. The marked box goes
   to the "off-mod-photo-box" store as fractions of the photo's width and height; the server checks the role. */
(function () {
  "use strict";
  var drag = null;
  function frac(frame, e) {
    var r = frame.getBoundingClientRect();
    return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1), Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)];
  }
  function draw(frame, a, b) {
    var mark = frame.querySelector(".off-photo-mark");
    if (!mark) { mark = document.createElement("div"); mark.className = "off-photo-mark"; frame.appendChild(mark); }
    var l = Math.min(a[0], b[0]), t = Math.min(a[1], b[1]), w = Math.abs(a[0] - b[0]), h = Math.abs(a[1] - b[1]);
    mark.style.left = (l * 100) + "%"; mark.style.top = (t * 100) + "%";
    mark.style.width = (w * 100) + "%"; mark.style.height = (h * 100) + "%";
    return [l, t, l + w, t + h];
  }
  document.addEventListener("pointerdown", function (e) {
    var frame = e.target.closest && e.target.closest(".off-photo-frame");
    if (!frame) { return; }
    e.preventDefault();
    drag = {frame: frame, start: frac(frame, e)};
  });
  document.addEventListener("pointermove", function (e) { if (drag) { draw(drag.frame, drag.start, frac(drag.frame, e)); } });
  document.addEventListener("pointerup", function (e) {
    if (!drag) { return; }
    var box = draw(drag.frame, drag.start, frac(drag.frame, e));
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("off-mod-photo-box", {data: {photo: drag.frame.dataset.photo, box: box}});
    }
    drag = null;
  });
})();

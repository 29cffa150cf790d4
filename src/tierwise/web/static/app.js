// tierwise pages: draw every chart from its JSON block with the one plotly.js served by the app,
// and count down the SLA of inbox alerts. No inline scripts anywhere (the CSP allows script-src 'self' only).
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var block = document.getElementById(el.getAttribute("data-figure"));
      if (!block) { return; }
      var fig = JSON.parse(block.textContent);
      window.Plotly.newPlot(el, fig.data, fig.layout, {displaylogo: false, responsive: true,
                                                       modeBarButtonsToRemove: ["lasso2d", "select2d"]});
      if (fig.links) {          // bars that drill down: customdata holds the link of each bar
        el.on("plotly_click", function (ev) {
          var p = ev.points && ev.points[0];
          if (p && p.customdata) { window.location.href = p.customdata; }
        });
        el.style.cursor = "pointer";
      }
      el.setAttribute("data-drawn", "1");
    });
  }
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function countdown() {
    var els = document.querySelectorAll("[data-sla-seconds]");
    if (!els.length) { return; }
    var start = Date.now();
    function tick() {
      var passed = Math.floor((Date.now() - start) / 1000);
      els.forEach(function (el) {
        var left = parseInt(el.getAttribute("data-sla-seconds"), 10) - passed;
        var s = Math.abs(left), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
            m = Math.floor(s % 3600 / 60), sec = s % 60;
        var text = (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(sec);
        el.querySelector(".clock").textContent = (left < 0 ? "-" : "") + text;
        el.classList.toggle("late", left < 0);
      });
    }
    tick();
    window.setInterval(tick, 1000);
  }
  function ready() { draw(); countdown(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();

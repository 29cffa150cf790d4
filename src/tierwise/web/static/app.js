// tierwise pages: draw every chart from its JSON block with the one plotly.js served by the app.
// No inline scripts anywhere (the CSP allows script-src 'self' only).
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
      el.setAttribute("data-drawn", "1");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

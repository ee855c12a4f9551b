// Draws every figure on the page from its data-figure attribute (no inline script needed).
// A figure inside a closed <details> is drawn when the reader opens it (plotly cannot size a hidden
// figure, and the closed sections cost nothing until then); a link to a closed section opens it.
(function () {
  "use strict";
  // Nothing from another host: no logo link, no mode bar (its "edit in Chart Studio" and send-to-cloud
  // buttons), and plotly.js's remote defaults (map files, the Chart Studio server) pointed here or off.
  var CONFIG = {
    responsive: true, displaylogo: false, displayModeBar: false, showLink: false, showSendToCloud: false,
    showEditInChartStudio: false, plotlyServerURL: "", topojsonURL: "/static/vendor/"
  };
  function visible(el) {
    for (var d = el.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      if (!d.open) { return false; }
    }
    return true;
  }
  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.hasAttribute("data-drawn") || !visible(el)) { return; }
      var figure = JSON.parse(el.getAttribute("data-figure"));
      // Sized to its box (the layout's autosize) and redrawn when the box changes (responsive): the labels are
      // wrapped to fit a phone's width by reports/charts.py, so none is cut short here.
      el.setAttribute("data-drawn", "");
      window.Plotly.newPlot(el, figure.data, figure.layout, CONFIG);
    });
  }
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var d = target.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) { d.open = true; }
  }
  function start() {
    openTarget();
    draw(document);
    // "toggle" does not bubble: listen in the capture phase for every <details> on the page.
    document.addEventListener("toggle", function (event) { if (event.target.open) { draw(event.target); } }, true);
    window.addEventListener("hashchange", openTarget);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();

// Draws every figure on the page from its data-figure attribute (no inline script needed).
// A figure inside a closed <details> is drawn when the reader opens it (plotly cannot size a hidden
// figure, and the closed sections cost nothing until then); a link to a closed section opens it.
(function () {
  "use strict";
  var NARROW = 520;  // px: below this, long category names would leave the bars no room
  var LABEL = 18;    // characters kept of a category name on a narrow screen (the table has them whole)

  function shorten(text) {
    text = String(text);
    return text.length > LABEL ? text.slice(0, LABEL - 1) + "\u2026" : text;
  }

  // On a phone, horizontal bars keep most of the width: long names on the category axis are
  // cut short (hover and the table below show them whole).
  function fitToWidth(el, figure) {
    if (el.clientWidth >= NARROW) { return; }
    (figure.data || []).forEach(function (trace) {
      if (trace.orientation !== "h" || !Array.isArray(trace.y)) { return; }
      var axis = figure.layout.yaxis = figure.layout.yaxis || {};
      if (axis.type === "log" || trace.y.every(function (y) { return String(y).length <= LABEL; })) { return; }
      axis.tickmode = "array";
      axis.tickvals = trace.y;
      axis.ticktext = trace.y.map(shorten);
    });
  }

  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
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
      figure.layout = figure.layout || {};
      fitToWidth(el, figure);
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

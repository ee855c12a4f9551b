// Draws every figure on the page from its data-figure attribute (no inline script needed).
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

  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var figure = JSON.parse(el.getAttribute("data-figure"));
      figure.layout = figure.layout || {};
      fitToWidth(el, figure);
      window.Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false, displayModeBar: false });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();

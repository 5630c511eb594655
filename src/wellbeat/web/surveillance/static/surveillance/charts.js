/* Draws the surveillance charts from JSON embedded by the server (json_script), with the
   plotly.js that ships in the plotly Python package. No inline script, no CDN, no tiles. */
(function () {
  "use strict";
  var COLOURS = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];

  function colour(value, max) {
    if (value === null || value === undefined) return "#d9d9d9";
    if (max <= 0) return COLOURS[0];
    var i = Math.min(COLOURS.length - 1, Math.floor((value / max) * (COLOURS.length - 1) + 0.5));
    return COLOURS[i];
  }

  function series(el, spec, compact) {
    var traces = [
      { x: spec.x, y: spec.upperbound, name: "Upper bound", mode: "lines",
        line: { color: "#d62728", dash: "dot", width: 1 }, connectgaps: false },
      { x: spec.x, y: spec.expected, name: "Expected", mode: "lines",
        line: { color: "#7f7f7f", width: 1 }, connectgaps: false },
      { x: spec.x, y: spec.observed, name: "Observed", mode: compact ? "lines" : "lines+markers",
        line: { color: "#1f77b4", width: 2 } }
    ];
    if (compact) traces = [traces[2]];
    var layout = compact
      ? { height: 80, margin: { l: 4, r: 4, t: 4, b: 4 }, showlegend: false,
          xaxis: { visible: false }, yaxis: { visible: false } }
      : { height: 360, margin: { l: 48, r: 16, t: 36, b: 40 }, title: { text: spec.title },
          yaxis: { title: { text: "count" }, rangemode: "tozero" }, legend: { orientation: "h" } };
    Plotly.newPlot(el, traces, layout, { displaylogo: false, responsive: true, staticPlot: compact });
  }

  function map(el, spec) {
    var max = 0;
    Object.keys(spec.values).forEach(function (k) {
      var v = spec.values[k];
      if (v !== null && v > max) max = v;
    });
    var traces = spec.areas.map(function (area) {
      var value = spec.values[area.id];
      var highlighted = spec.highlight.indexOf(area.id) >= 0;
      var context = spec.context.indexOf(area.id) >= 0;
      return {
        x: area.x, y: area.y, mode: "lines", fill: "toself", hoveron: "fills",
        fillcolor: colour(value, max),
        line: { color: highlighted ? "#d62728" : context ? "#ff7f0e" : "#636363",
                width: highlighted ? 3 : context ? 2 : 0.5 },
        name: area.name + " (" + area.id + "): " +
              (value === undefined ? "0" : value === null ? "suppressed" : value),
        hoverinfo: "name", showlegend: false
      };
    });
    Plotly.newPlot(el, traces, {
      height: 480, margin: { l: 8, r: 8, t: 36, b: 8 }, title: { text: spec.title },
      xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
      hovermode: "closest"
    }, { displaylogo: false, responsive: true });
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source || typeof Plotly === "undefined") return;
    var spec = JSON.parse(source.textContent);
    if (spec.type === "map") map(el, spec);
    else series(el, spec, spec.type === "sparkline");
    el.setAttribute("data-drawn", "true");
  });
})();

/* Line charts of custom indicators and equity intervals, drawn from JSON embedded by the
   server (json_script) with the plotly.js that ships in the plotly Python package. No inline
   script, no CDN. A legend names only lines that draw at least one point; suppressed and
   not-shared periods are gaps, never zeros (the server leaves them null). */
(function () {
  "use strict";
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#ff7f0e"];

  function narrow(el) { return el.clientWidth < 600; }

  function hasPoint(values) {
    return (values || []).some(function (v) { return v !== null && v !== undefined; });
  }

  function lines(el, spec) {
    var traces = spec.lines.filter(function (l) { return hasPoint(l.y); }).map(function (l, i) {
      return { x: l.x || spec.x, y: l.y, name: l.name, mode: "lines+markers",
               marker: { size: 5, color: PALETTE[i % PALETTE.length] },
               line: { color: PALETTE[i % PALETTE.length], width: 2 }, connectgaps: false };
    });
    var small = narrow(el);
    el.setAttribute("data-traces", traces.map(function (t) { return t.name; }).join("|"));
    Plotly.newPlot(el, traces, {
      height: small ? 320 : 380, margin: { l: 48, r: 16, t: small ? 16 : 36, b: 40 },
      title: { text: small ? "" : spec.title },
      yaxis: { title: { text: spec.unit }, rangemode: "tozero" },
      xaxis: { type: "category" },
      legend: { orientation: "h", y: -0.2 }, showlegend: true
    }, { displaylogo: false, responsive: true, displayModeBar: small ? false : "hover" });
  }

  /* Estimates with their intervals, one marker per group (error bars: low..high). */
  function intervals(el, spec) {
    var shown = spec.rows.filter(function (r) { return r.value !== null; });
    var small = narrow(el);
    var trace = {
      x: shown.map(function (r) { return r.value; }), y: shown.map(function (r) { return r.group; }),
      name: spec.label, type: "scatter", mode: "markers", marker: { size: 9, color: "#1f77b4" },
      error_x: { type: "data", symmetric: false,
                 array: shown.map(function (r) { return r.high - r.value; }),
                 arrayminus: shown.map(function (r) { return r.value - r.low; }),
                 color: "#1f77b4", thickness: 1.5, width: 4 }
    };
    el.setAttribute("data-traces", shown.length ? spec.label : "");
    Plotly.newPlot(el, shown.length ? [trace] : [], {
      height: Math.max(180, 48 * shown.length + 80),
      margin: { l: small ? 110 : 160, r: 16, t: small ? 8 : 36, b: 48 },
      title: { text: small ? "" : spec.title }, showlegend: true,
      legend: { orientation: "h", y: -0.35 },
      xaxis: { title: { text: spec.unit }, rangemode: "tozero" },
      yaxis: { type: "category", automargin: true }
    }, { displaylogo: false, responsive: true, displayModeBar: small ? false : "hover" });
  }

  document.querySelectorAll("[data-indicator-chart]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-indicator-chart"));
    if (!source || typeof Plotly === "undefined") return;
    var spec = JSON.parse(source.textContent);
    if (spec.type === "intervals") intervals(el, spec);
    else lines(el, spec);
    el.setAttribute("data-drawn", "true");
  });
})();

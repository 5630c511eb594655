/* Draws the surveillance charts from JSON embedded by the server (json_script), with the
   plotly.js that ships in the plotly Python package. No inline script, no CDN, no tiles.
   A legend names only traces that draw at least one point; the page says why a line is
   missing. The incomplete current period is marked, not drawn as a drop. */
(function () {
  "use strict";
  var COLOURS = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  var NO_DATA = "#bdbdbd";

  function bucket(value, max) {
    if (max <= 0) return 0;
    return Math.min(COLOURS.length - 1, Math.floor((value / max) * (COLOURS.length - 1) + 0.5));
  }

  /* The stepped colour scale matching bucket(): colour i covers (i +- 0.5) / (n - 1) of max. */
  function steppedScale() {
    var n = COLOURS.length, scale = [];
    COLOURS.forEach(function (c, i) {
      var lo = i === 0 ? 0 : (i - 0.5) / (n - 1), hi = i === n - 1 ? 1 : (i + 0.5) / (n - 1);
      scale.push([lo, c], [hi, c]);
    });
    return scale;
  }

  /* On a phone the page's heading names the chart; Plotly's title and tool bar would overlap. */
  function narrow(el) {
    return el.clientWidth < 600;
  }

  function hasPoint(values) {
    return (values || []).some(function (v) { return v !== null && v !== undefined; });
  }

  function series(el, spec, compact) {
    var last = spec.incomplete ? spec.x.indexOf(spec.incomplete) : -1;
    var complete = spec.observed.map(function (v, i) { return i === last ? null : v; });
    var partial = spec.observed.map(function (v, i) { return i === last ? v : null; });
    var traces = [
      { x: spec.x, y: spec.upperbound, name: "Upper bound (" + spec.method + ")",
        mode: "lines+markers", marker: { size: 4, color: "#b2182b" },
        line: { color: "#b2182b", dash: "dot", width: 1.5 }, connectgaps: false },
      { x: spec.x, y: spec.expected, name: "Expected", mode: "lines+markers",
        marker: { size: 4, color: "#4d4d4d" },
        line: { color: "#4d4d4d", dash: "dash", width: 1.5 }, connectgaps: false },
      { x: spec.x, y: complete, name: "Observed", mode: "lines+markers",
        marker: { size: compact ? 3 : 6 }, line: { color: "#1f77b4", width: 2 },
        connectgaps: false },
      { x: spec.x, y: partial, name: "Incomplete " + spec.period + " (through " + spec.through + ")",
        mode: "markers", marker: { color: "#ffffff", size: 9, symbol: "circle-open",
        line: { color: "#1f77b4", width: 2 } } }
    ];
    if (!compact && spec.signals && spec.signals.length) {
      var signalY = spec.x.map(function (x, i) {
        return spec.signals.indexOf(x) >= 0 ? spec.observed[i] : null;
      });
      traces.push({ x: spec.x, y: signalY, name: "Alert signal", mode: "markers",
        marker: { color: "#d62728", size: 11, symbol: "diamond" } });
    }
    if (compact) traces = [traces[2], traces[3]];
    traces = traces.filter(function (t) { return hasPoint(t.y); });
    var shapes = [];
    if (last >= 0 && !compact) {
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: spec.x[last], x1: spec.through,
        y0: 0, y1: 1, fillcolor: "#fdd49e", opacity: 0.35, line: { width: 0 }, layer: "below" });
    }
    if (!compact) {
      /* The alert's signal periods, drawn even where the viewer's count is suppressed. */
      (spec.signals || []).forEach(function (x) {
        shapes.push({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
          line: { color: "#d62728", width: 1, dash: "dash" } });
      });
    }
    var layout = compact
      ? { height: 80, margin: { l: 4, r: 4, t: 4, b: 4 }, showlegend: false,
          xaxis: { visible: false }, yaxis: { visible: false } }
      : { height: 380, margin: { l: 48, r: 16, t: narrow(el) ? 16 : 36, b: 40 },
          title: { text: narrow(el) ? "" : spec.title },
          yaxis: { title: { text: "count per " + spec.period }, rangemode: "tozero" },
          legend: { orientation: "h", y: -0.15 }, shapes: shapes, showlegend: true,
          annotations: (spec.signals || []).map(function (x) {
            return { x: x, xref: "x", y: 1, yref: "paper", text: "signal", showarrow: false,
                     font: { color: "#d62728", size: 11 }, yanchor: "bottom" };
          }) };
    el.setAttribute("data-traces", traces.map(function (t) { return t.name; }).join("|"));
    Plotly.newPlot(el, traces, layout, { displaylogo: false, responsive: true, staticPlot: compact,
                                         displayModeBar: narrow(el) ? false : "hover" });
  }

  function map(el, spec) {
    var max = 0;
    Object.keys(spec.values).forEach(function (k) {
      var v = spec.values[k];
      if (v !== null && v > max) max = v;
    });
    /* The legend's grey swatch is drawn by a plain (not outlined) hidden area when there is one. */
    var hiddenIds = spec.areas.map(function (a) { return a.id; }).filter(function (id) {
      return spec.values[id] === null || spec.values[id] === undefined;
    });
    var plain = hiddenIds.filter(function (id) {
      return spec.highlight.indexOf(id) < 0 && spec.context.indexOf(id) < 0;
    });
    var swatch = plain.length ? plain[0] : hiddenIds[0];
    var greyShown = hiddenIds.length > 0;
    var traces = spec.areas.map(function (area) {
      var value = spec.values[area.id];
      var status = spec.statuses[area.id];
      var hidden = value === null || value === undefined;
      var highlighted = spec.highlight.indexOf(area.id) >= 0;
      var context = spec.context.indexOf(area.id) >= 0;
      var label = status === "suppressed" ? spec.suppressed_label
        : status === "not-shared" ? "not shared with you" : String(value);
      var trace = {
        x: area.x, y: area.y, mode: "lines", fill: "toself", hoveron: "fills",
        fillcolor: hidden ? NO_DATA : COLOURS[bucket(value, max)],
        line: { color: highlighted ? "#d62728" : context ? "#ff7f0e" : "#636363",
                width: highlighted ? 3 : context ? 2 : 0.5 },
        name: area.name + " (" + area.id + "): " + label,
        hoverinfo: "name", showlegend: false
      };
      if (hidden) {
        /* One legend entry for all grey areas, named for what grey means. */
        trace.legendgroup = "hidden";
        if (area.id === swatch) {
          trace.showlegend = true;
          trace.name = spec.suppressed_label;
          trace.hoverinfo = "text";
          trace.text = area.name + " (" + area.id + "): " + label;
        }
      }
      return trace;
    });
    /* The colour scale: an invisible marker at the first area's first vertex carries it. */
    var anchor = spec.areas.length ? spec.areas[0] : null;
    if (anchor) {
      traces.push({
        x: [anchor.x[0]], y: [anchor.y[0]], mode: "markers", hoverinfo: "skip", showlegend: false,
        marker: { size: 0.1, opacity: 0, color: [0], cmin: 0, cmax: Math.max(max, 1),
                  colorscale: steppedScale(), showscale: true,
                  colorbar: { title: { text: "count" }, thickness: 12, len: 0.8 } }
      });
    }
    el.setAttribute("data-colour-max", String(max));
    var small = narrow(el);
    Plotly.newPlot(el, traces, {
      height: small ? Math.max(260, Math.round(el.clientWidth * 0.8)) : 480,
      margin: { l: 8, r: 8, t: small ? 8 : 36, b: 8 }, title: { text: small ? "" : spec.title },
      xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
      hovermode: "closest", showlegend: greyShown, legend: { orientation: "h", y: 0 }
    }, { displaylogo: false, responsive: true, displayModeBar: small ? false : "hover" });
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

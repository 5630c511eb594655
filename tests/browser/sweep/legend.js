const bad = [];
for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  for (const trace of (gd.data || [])) {
    if (trace.showlegend === false) continue;
    const values = [].concat(trace.y || [], (trace.z || []).flat ? (trace.z || []).flat(2) : []);
    const drawn = values.some(v => v !== null && v !== undefined && !(typeof v === 'number' && isNaN(v)));
    if (!drawn) bad.push((gd.id || 'chart') + ': legend names "' + (trace.name || '(unnamed)') + '" with no point');
  }
}
return bad;

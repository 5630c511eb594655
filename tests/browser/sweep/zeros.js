const cells = document.querySelectorAll('main td, main th, main dd, main .card, main .cards li, main [data-status]');
const bad = [];
for (const el of cells) {
  const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
  const text = el.hasAttribute('data-status') ? el.textContent.trim() : own;
  if (!/^0(\.0+)?%?$/.test(text)) continue;
  const marked = el.closest('[data-status]');
  const status = marked ? marked.getAttribute('data-status') : '(none)';
  if (status !== 'zero') bad.push(el.tagName.toLowerCase() + ' "' + text + '" data-status=' + status);
}
return [...new Set(bad)].map(b => b + ' (' + bad.filter(x => x === b).length + ' times)');

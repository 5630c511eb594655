const root = document.documentElement;
if (root.scrollWidth <= root.clientWidth + 1) return [];
// Name the outermost elements that stick out, to say what to fix.
return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > root.clientWidth + 1)
  .filter(e => e.parentElement.getBoundingClientRect().right <= root.clientWidth + 1)
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
       (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))
  .concat(['scrollWidth ' + root.scrollWidth + ' > ' + root.clientWidth]);

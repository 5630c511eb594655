/* On a phone the main navigation folds behind a "Menu" button. Without JavaScript the
   button stays hidden and the navigation simply wraps, so every link is always reachable. */
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  const header = document.querySelector(".site-header");
  if (!toggle || !header) return;
  header.classList.add("nav-collapsible");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("nav-open", open);
  });
});

/* A table wider than the screen scrolls inside itself (hub.css): let the keyboard reach it and
   name it after its caption, so it is an accessible scrollable region. */
function markScrollingTables() {
  for (const table of document.querySelectorAll("main table, main .table-scroll")) {
    const scrolls = table.scrollWidth > table.clientWidth + 1;
    if (scrolls && !table.hasAttribute("tabindex")) {
      table.setAttribute("tabindex", "0");
      if (table.tagName !== "TABLE") table.setAttribute("role", "region");
      const caption = table.querySelector("caption");
      if (!table.hasAttribute("aria-label") && table.tagName !== "TABLE") {
        table.setAttribute("aria-label", caption ? caption.textContent.trim() : "Scrolling table");
      }
    }
  }
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
window.addEventListener("resize", markScrollingTables);

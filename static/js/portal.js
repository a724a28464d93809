// The portal's one shared script; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The menu folds away on a phone behind its button (docs/ui.md, "Header").
  const toggle = document.querySelector(".menu-toggle");
  const menu = document.getElementById("site-menu");
  if (toggle && menu) {
    toggle.hidden = false;
    document.documentElement.classList.add("menu-can-fold");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      menu.classList.toggle("open", !open);
    });
  }
  // A form that came back with errors: its summary takes the focus, so it is read first
  // and in view (docs/ui.md, "Errors").
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  // A confirmation asked in the page itself: <form data-confirm="question">.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});

// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A reason is required for a rejection: show the field only when 'reject' is chosen.
  for (const form of document.querySelectorAll("form[data-decision]")) {
    const reason = form.querySelector("[data-reason]");
    const sync = () => {
      const choice = form.querySelector("[name=decision]:checked, select[name=decision]");
      const needs = choice && ["rejected", "not_implemented"].includes(choice.value);
      if (reason) { reason.hidden = !needs; reason.querySelector("input, textarea").required = !!needs; }
    };
    form.addEventListener("change", sync);
    sync();
  }
  // Filters apply as soon as a select changes.
  for (const select of document.querySelectorAll("form.filters[data-autosubmit] select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // Ask before irreversible actions (sign-off).
  for (const el of document.querySelectorAll("[data-confirm]")) {
    el.addEventListener("click", (e) => { if (!confirm(el.dataset.confirm)) e.preventDefault(); });
  }
});

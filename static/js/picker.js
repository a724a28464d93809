// Searchable pickers (isms/pickers.py, templates/widgets/picker.html; docs/ui.md, "Pickers").
// Without this script the Search button sends the form back to its page, which shows the
// matches; with it the matches come from the picker's search endpoint as the person types,
// and the count of matches is announced by the picker's live region.
"use strict";
(() => {
  // The widget's template loads this file once per picker on the page: set up once.
  if (window.ismsPickers) return;
  window.ismsPickers = true;

  const setUp = (picker) => {
    const url = picker.dataset.searchUrl;
    const input = picker.querySelector("[data-picker-input]");
    const button = picker.querySelector("[data-picker-button]");
    const status = picker.querySelector("[data-picker-status]");
    if (!url || !input || !button || !status) return;
    // The form's own submit button, not this one, answers Enter in the form's other fields.
    button.type = "button";
    let timer = null;
    let pending = null;
    let searched = input.value;

    const chosen = () => {
      const checked = picker.querySelector("[data-picker-results] input[type=radio]:checked");
      return checked ? checked.value : "";
    };

    const search = () => {
      window.clearTimeout(timer);
      // The same term again (Enter, the button): the matches shown are still the answer.
      if (input.value === searched) return;
      searched = input.value;
      const query = new URLSearchParams({ q: input.value, value: chosen() });
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(`${url}?${query}`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        signal: pending.signal,
      })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          const template = document.createElement("template");
          template.innerHTML = html;
          const fresh = template.content.querySelector("[data-picker-results]");
          if (!fresh) return;
          // A choice made while the answer was on its way is kept, and so is the focus.
          const value = chosen();
          const old = picker.querySelector("[data-picker-results]");
          const focused = old.contains(document.activeElement) ? document.activeElement : null;
          const radios = [...fresh.querySelectorAll("input[type=radio]")];
          const again = radios.find((radio) => radio.value === value);
          if (again) again.checked = true;
          else if (value) {
            // Not among the new matches: it stays in the list, chosen.
            const kept = old.querySelector("input[type=radio]:checked").closest("label");
            kept.querySelector("input").id += "-kept";
            fresh.querySelector("legend").after(kept);
            fresh.hidden = false;
            radios.push(kept.querySelector("input"));
          }
          old.replaceWith(fresh);
          status.textContent = fresh.dataset.status;
          if (focused) (radios.find((radio) => radio.value === focused.value) || input).focus();
        })
        .catch((error) => {
          // Aborted by a newer search: nothing to do. Otherwise the same term may be tried
          // again (Enter, the button).
          if (!error || error.name !== "AbortError") searched = null;
        });
    };

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        search();
      }
    });
    button.addEventListener("click", search);
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-picker]").forEach(setUp);
  });
})();

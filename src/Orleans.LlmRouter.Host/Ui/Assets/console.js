// The LlmRouter console's only script: confirmation of destructive forms and live refresh of polled tables.
// Pages work without it (forms post, pages render on the server); no external script is ever loaded.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A table with data-poll="<url>" is refreshed every data-poll-seconds: the URL answers an array of rows, each with an
// "id" matching a row's data-provider and fields matching its cells' data-k. Text only (never HTML).
for (const table of document.querySelectorAll("table[data-poll]")) {
  const url = table.dataset.poll;
  const seconds = Math.max(1, Number(table.dataset.pollSeconds || 3));
  const status = document.createElement("p");
  status.className = "updated";
  status.setAttribute("aria-live", "off");
  table.after(status);
  const refresh = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (response.redirected || response.status === 401 || response.status === 403) {
        window.location.assign("/ui/signin");
        return;
      }
      if (!response.ok) {
        status.textContent = "Refresh failed (" + response.status + ")";
        return;
      }
      for (const row of await response.json()) {
        const tr = table.querySelector(`tr[data-provider="${CSS.escape(row.id)}"]`);
        if (!tr) continue;
        for (const cell of tr.querySelectorAll("td[data-k]")) {
          const value = row[cell.dataset.k];
          if (value !== undefined && cell.textContent !== String(value)) cell.textContent = String(value);
        }
        // Of the row's alternative controls (data-when="on" / "off"), show the one that applies now.
        for (const control of tr.querySelectorAll("[data-when]")) {
          control.hidden = (row.on ? "on" : "off") !== control.dataset.when;
        }
      }
      status.textContent = "Updated " + new Date().toLocaleTimeString();
      table.dataset.refreshed = String(Number(table.dataset.refreshed || 0) + 1);
    } catch (error) {
      status.textContent = "Refresh failed";
    }
  };
  setInterval(refresh, seconds * 1000);
}

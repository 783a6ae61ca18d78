// seatledger console: dialogs by keyboard and mouse, and the live Activity list.
"use strict";

document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.open);
    if (dialog) {
      dialog.showModal();
      const first = dialog.querySelector("[aria-invalid=true], input:not([type=hidden]), select, button");
      if (first) first.focus();
    }
    return;
  }
  const closer = event.target.closest("[data-close]");
  if (closer) closer.closest("dialog").close();
});

// A dialog the server re-rendered with an error (the typed values kept) opens again.
document.addEventListener("DOMContentLoaded", () => {
  for (const dialog of document.querySelectorAll("dialog[data-open-on-load]")) {
    dialog.showModal();
    const wrong = dialog.querySelector("[aria-invalid=true]");
    if (wrong) wrong.focus();
  }
  const rows = document.getElementById("activity-rows");
  if (rows && rows.dataset.stream && window.EventSource) {
    const live = document.getElementById("activity-live");
    const stream = new EventSource(rows.dataset.stream);
    let fresh = 0;
    stream.onmessage = (message) => {
      const empty = rows.querySelector("tr.empty");
      if (empty) empty.remove();
      rows.insertAdjacentHTML("afterbegin", message.data);
      fresh += 1;
      live.textContent = fresh === 1 ? "1 new entry." : fresh + " new entries.";
    };
    window.addEventListener("pagehide", () => stream.close());
  }
});

// A preview answers for the value it was asked about: the field keeps it in
// data-previewed, so that what is shown can be matched with what was typed.
document.addEventListener("htmx:afterRequest", (event) => {
  const elt = event.detail.elt;
  const sent = event.detail.requestConfig && event.detail.requestConfig.parameters;
  if (!elt || !elt.name || !sent) return;
  const value = sent instanceof FormData ? sent.get(elt.name) : sent[elt.name];
  if (value != null) elt.dataset.previewed = value;
});

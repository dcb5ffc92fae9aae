// ferry dashboard: confirmations, live refresh and log following. The pages work without it: actions then
// confirm on a page of their own, and a reload shows the latest state.
"use strict";

// Actions ask first, in a dialog; the form then says the human confirmed.
function confirmForms(root) {
  root.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (form.querySelector("input[name=confirm]")) return;
      ev.preventDefault();
      const dlg = document.getElementById("confirm");
      document.getElementById("confirm-text").textContent = form.dataset.confirm;
      dlg.returnValue = "";
      dlg.onclose = () => {
        if (dlg.returnValue !== "ok") return;
        const yes = document.createElement("input");
        yes.type = "hidden"; yes.name = "confirm"; yes.value = "yes";
        form.appendChild(yes);
        form.submit();
      };
      dlg.showModal();
    });
  });
}

// A .live block with data-refresh="N" is fetched again every N seconds and swapped in place, keeping which
// <details> were open. It stops when the new page has no data-refresh (the run or rollout ended).
function liveRefresh() {
  const live = document.querySelector(".live[data-refresh]");
  if (!live) return;
  const every = Math.max(1, Number(live.dataset.refresh)) * 1000;
  const tick = async () => {
    const dlg = document.getElementById("confirm");
    if (document.hidden || (dlg && dlg.open)) { setTimeout(tick, every); return; }
    try {
      const res = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (res.redirected || !res.ok) { setTimeout(tick, every * 2); return; }
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.querySelector(".live");
      const cur = document.querySelector(".live");
      if (!fresh || !cur) return;
      const open = [...cur.querySelectorAll("details")].map((d) => d.open);
      cur.innerHTML = fresh.innerHTML;
      cur.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
      confirmForms(cur);
      if (!fresh.hasAttribute("data-refresh")) { cur.removeAttribute("data-refresh"); return; }
    } catch (e) { /* the server may be restarting: try again later */ }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

// The log follows the run over server-sent events while it runs; older lines are dropped past a bound so a
// huge log cannot exhaust the page.
const maxLogLines = 20000;
function followLog() {
  const pre = document.getElementById("log-lines");
  if (!pre || !pre.dataset.events) return;
  const state = document.getElementById("log-state");
  const src = new EventSource(pre.dataset.events);
  let lines = 0, dropped = 0;
  src.addEventListener("open", () => { state.textContent = "following"; });
  src.addEventListener("line", (ev) => {
    const ln = JSON.parse(ev.data);
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const row = document.createElement("span");
    row.className = "ln";
    const step = document.createElement("span");
    step.className = "st";
    step.textContent = ln.step;
    row.append(step, document.createTextNode(ln.line + "\n"));
    pre.appendChild(row);
    if (++lines > maxLogLines) { pre.firstChild.remove(); dropped++; lines--; }
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  src.addEventListener("failed", (ev) => { state.textContent = "failed: " + JSON.parse(ev.data); });
  src.addEventListener("end", () => {
    src.close();
    state.textContent = dropped ? `finished (first ${dropped} lines not shown)` : "finished";
    pre.dataset.done = "true";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  confirmForms(document);
  liveRefresh();
  followLog();
});

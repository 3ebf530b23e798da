"use strict";
// The runs page: the caller's tenant's runs, those waiting for a person first; a form to start one.
(async () => {
  const { api, el, notice, usd, when } = Console;
  let me;
  try {
    me = await Console.whoami();
  } catch (error) {
    notice(error.message, "error");
    return;
  }
  if (Console.may(me, "start")) document.getElementById("start").hidden = false;

  document.getElementById("start-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const goal = document.getElementById("goal").value;
    try {
      const started = await api("POST", "/v1/runs", { goal, stream_tokens: document.getElementById("stream").checked });
      location.assign("/console/runs/" + encodeURIComponent(started.id));
    } catch (error) {
      notice("Not started: " + error.message, "error");
    }
  });

  // Rows come from the list at once; each run's step and cost fill in when its state arrives. A state
  // needs a worker of the run's queue, which an old run may no longer have (the API gives up after
  // 10 s): the list never waits for it. A newer load abandons the older one's requests.
  let loading = null;

  function row(run, state) {
    const shown = state ? state.status : run.status || "running";
    const cost = state ? usd(state.usage.cost_usd) + " / " + usd(state.budgets.max_cost_usd) : "";
    return el("tr", { "data-run": run.id, "data-state": state ? "read" : "reading" },
      el("td", { "data-label": "Run" }, el("a", { href: "/console/runs/" + encodeURIComponent(run.id) },
        state ? state.goal.slice(0, 80) : run.id), el("div", { class: "muted" }, run.id)),
      el("td", { "data-label": "Status" }, el("span", { class: "status " + shown }, shown.replaceAll("_", " "))),
      el("td", { "data-label": "Step" }, state ? String(state.step) : "…"),
      el("td", { "data-label": "Cost / budget" }, cost),
      el("td", { "data-label": "Started" }, when(run.started_at)));
  }

  async function load() {
    if (loading) loading.abort();
    const mine = loading = new AbortController();
    const status = document.getElementById("status-filter").value;
    let listed;
    try {
      listed = await api("GET", "/v1/runs?page_size=50" + (status ? "&status=" + encodeURIComponent(status) : ""),
        undefined, mine.signal);
    } catch (error) {
      if (!mine.signal.aborted) notice("Could not list runs: " + error.message, "error");
      return;
    }
    if (mine.signal.aborted) return;
    const waiting = (run) => (run.status === "waiting_for_human" ? 0 : 1);
    const runs = [...listed.runs].sort((a, b) => waiting(a) - waiting(b));
    const table = document.getElementById("runs");
    table.replaceChildren(...runs.map((run) => row(run, null)));
    document.getElementById("empty").hidden = runs.length > 0;
    notice("");
    await Promise.all(runs.map(async (run) => {
      let state = null, failure = null;
      try {
        state = await api("GET", "/v1/runs/" + encodeURIComponent(run.id), undefined, mine.signal);
      } catch (error) {
        failure = error;
      }
      const shown = table.querySelector(`tr[data-run="${CSS.escape(run.id)}"]`);
      if (mine.signal.aborted || !shown) return;
      if (state) {
        shown.replaceWith(row(run, state));
      } else {
        shown.dataset.state = "unread";  // the row keeps what the list said
        shown.cells[2].textContent = "";
        shown.title = "State not read: " + failure.message;
      }
    }));
  }

  document.getElementById("status-filter").addEventListener("change", load);
  document.getElementById("refresh").addEventListener("click", load);
  await load();
})();

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

  async function load() {
    const status = document.getElementById("status-filter").value;
    let listed;
    try {
      listed = await api("GET", "/v1/runs?page_size=50" + (status ? "&status=" + encodeURIComponent(status) : ""));
    } catch (error) {
      notice("Could not list runs: " + error.message, "error");
      return;
    }
    // Step and cost come from each run's state; a run that cannot be read still gets its row.
    const states = await Promise.all(listed.runs.map((run) =>
      api("GET", "/v1/runs/" + encodeURIComponent(run.id)).catch(() => null)));
    const rows = listed.runs.map((run, i) => ({ run, state: states[i] }));
    const waiting = (row) => ((row.state ? row.state.status : row.run.status) === "waiting_for_human" ? 0 : 1);
    rows.sort((a, b) => waiting(a) - waiting(b));
    document.getElementById("runs").replaceChildren(...rows.map(({ run, state }) => {
      const shown = state ? state.status : run.status || "running";
      const cost = state ? usd(state.usage.cost_usd) + " / " + usd(state.budgets.max_cost_usd) : "";
      return el("tr", {},
        el("td", { "data-label": "Run" }, el("a", { href: "/console/runs/" + encodeURIComponent(run.id) },
          state ? state.goal.slice(0, 80) : run.id), el("div", { class: "muted" }, run.id)),
        el("td", { "data-label": "Status" }, el("span", { class: "status " + shown }, shown.replaceAll("_", " "))),
        el("td", { "data-label": "Step" }, state ? String(state.step) : ""),
        el("td", { "data-label": "Cost / budget" }, cost),
        el("td", { "data-label": "Started" }, when(run.started_at)));
    }));
    document.getElementById("empty").hidden = rows.length > 0;
    notice("");
  }

  document.getElementById("status-filter").addEventListener("change", load);
  document.getElementById("refresh").addEventListener("click", load);
  await load();
})();

"use strict";
// One run, live: its state from GET /v1/runs/{id}, its events from the SSE stream (no polling). The
// stream resumes after the last event it showed, so a dropped connection loses and repeats nothing.
(async () => {
  const { api, el, notice, usd, when } = Console;
  const runId = decodeURIComponent(location.pathname.split("/").pop());
  const base = "/v1/runs/" + encodeURIComponent(runId);
  const KINDS = ["status", "step_started", "step_finished", "model", "tool_proposed", "approval_needed",
    "approval_decided", "tool_started", "tool_finished", "outcome_unknown", "question", "compacted",
    "budget_warning", "model_tokens", "model_retry", "result"];
  const REFRESH_ON = new Set(["status", "approval_needed", "approval_decided", "outcome_unknown", "question",
    "step_finished", "tool_finished", "result"]);
  let me;
  let state = null;
  let lastOffset = -1;
  let ended = false;
  let stream = null;
  let refreshing = null;

  try {
    me = await Console.whoami();
  } catch (error) {
    notice(error.message, "error");
    return;
  }
  document.getElementById("title").textContent = "Run " + runId;

  // ---- state ------------------------------------------------------------------------------------
  async function refresh() {
    try {
      state = await api("GET", base);
    } catch (error) {
      if (error.status === 404) {
        notice("No such run in your tenant.", "error");
        document.getElementById("status").textContent = "not found";
        ended = true;
        if (stream) stream.close();
      } else {
        notice("Could not read the run: " + error.message, "error");
      }
      return;
    }
    render();
  }

  function scheduleRefresh() {
    if (refreshing) return;
    refreshing = setTimeout(async () => {
      refreshing = null;
      await refresh();
    }, 150);
  }

  function showStatus(value) {
    const status = document.getElementById("status");
    status.textContent = String(value).replaceAll("_", " ");
    status.className = "status " + value;
  }

  function render() {
    showStatus(state.status);
    document.getElementById("step").textContent = "step " + state.step;
    document.getElementById("goal").textContent = state.goal;
    if (state.result) {
      document.getElementById("answer").textContent = state.result.answer || state.result.reason || "(no answer)";
    }
    renderMeters();
    renderApprovals();
    renderOutcomes();
    const asking = state.status === "waiting_for_human" && state.question;
    document.getElementById("question-section").hidden = !asking;
    document.getElementById("question").textContent = asking ? state.question : "";
    const open = !state.result;
    document.getElementById("controls").hidden = !(open && Console.may(me, "start"));
    document.getElementById("audit").replaceChildren(...state.approvals.map((a) => el("li", {},
      `${a.tool} (${a.tool_call_id}) ${a.decision} by ${a.by}` + (a.comment ? ": " + a.comment : ""),
      a.edited_arguments ? el("div", { class: "muted" }, "with edited arguments " + JSON.stringify(a.edited_arguments)) : null)));
  }

  function meter(label, used, limit, shown) {
    const id = "m-" + label.replace(/\W/g, "");
    return el("div", {},
      el("label", { for: id }, label + ": " + shown),
      limit ? el("meter", { id, min: 0, max: limit, value: Math.min(used, limit), high: limit * 0.8 }) : null);
  }

  function renderMeters() {
    const u = state.usage;
    const b = state.budgets;
    const tokens = u.prompt_tokens + u.completion_tokens;
    document.getElementById("meters").replaceChildren(
      meter("Steps", state.step, b.max_steps, `${state.step} of ${b.max_steps}`),
      meter("Tokens", tokens, b.max_tokens, `${tokens} of ${b.max_tokens}`),
      meter("Cost", u.cost_usd, b.max_cost_usd, `${usd(u.cost_usd)} of ${usd(b.max_cost_usd)}`));
  }

  // ---- approvals --------------------------------------------------------------------------------
  function mayDecide(pending) {
    if (!Console.may(me, "approve")) return "Your role does not allow approving calls.";
    if (pending.signature_required && !me.signs) {
      return "This call needs a signed approval, and the API may not sign for you: ask an admin to run " +
        `python -m worker.api approvers add ${me.name} --tenant ${me.tenant}.`;
    }
    return null;
  }

  function renderApprovals() {
    const pending = state.pending_approvals || [];
    document.getElementById("approvals-section").hidden = pending.length === 0;
    const shown = new Set(pending.map((p) => p.tool_call_id));
    const box = document.getElementById("approvals");
    for (const card of [...box.children]) if (!shown.has(card.dataset.call)) card.remove();
    for (const p of pending) {
      if (box.querySelector(`[data-call="${CSS.escape(p.tool_call_id)}"]`)) continue;
      box.append(approvalCard(p));
    }
    countdown();
  }

  function approvalCard(p) {
    const id = p.tool_call_id;
    const original = JSON.stringify(p.arguments, null, 2);
    const card = el("article", { class: "card approval", "data-call": id, "aria-label": `Approval for ${p.tool} (${id})` },
      el("h3", {}, `${p.tool} `, el("span", { class: "muted" }, `(${id}) · risk ${p.risk_level}`)),
      el("p", {}, p.reason),
      el("p", {}, "Expires ", el("time", { "data-expires": p.expires_at, datetime: p.expires_at }, "")),
      el("pre", { "aria-label": "Arguments" }, original));
    const refusal = mayDecide(p);
    if (refusal) {
      card.append(el("p", { class: "muted" }, refusal));
      return card;
    }
    const edit = el("textarea", { id: "args-" + id, spellcheck: "false" }, original);
    const diff = el("div", { class: "diff", "aria-live": "polite" });
    edit.addEventListener("input", () => showDiff(p.arguments, edit.value, diff));
    const comment = el("input", { id: "comment-" + id, type: "text", autocomplete: "off" });
    const decide = async (decision) => {
      const body = { decision, comment: comment.value || null };
      if (decision === "approve" && edit.value.trim() !== original.trim()) {
        try {
          body.arguments = JSON.parse(edit.value);
        } catch (error) {
          notice("The edited arguments are not valid JSON: " + error.message, "error");
          return;
        }
      }
      try {
        const reply = await api("POST", `${base}/approvals/${encodeURIComponent(id)}`, body);
        notice(`${decision === "approve" ? "Approved" : "Rejected"} ${p.tool} (${id}): ${reply.result}`, "ok");
      } catch (error) {
        notice(`Not ${decision === "approve" ? "approved" : "rejected"}: ${error.message}`, "error");
      }
      scheduleRefresh();
    };
    card.append(
      el("details", {}, el("summary", {}, "Edit the arguments before approving"),
        el("label", { for: "args-" + id }, "Arguments (JSON)"), edit, diff),
      el("label", { for: "comment-" + id }, "Comment"), comment,
      el("div", { class: "inline" },
        el("button", { type: "button", onclick: () => decide("approve") }, "Approve"),
        el("button", { type: "button", class: "danger", onclick: () => decide("reject") }, "Reject")));
    return card;
  }

  function showDiff(before, text, box) {
    let after;
    try {
      after = JSON.parse(text);
    } catch {
      box.replaceChildren(el("p", { class: "notice error" }, "not valid JSON yet"));
      return;
    }
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after || {})])].sort();
    const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify((after || {})[k]));
    box.replaceChildren(...(changed.length === 0 ? [el("p", { class: "muted" }, "unchanged")] :
      [el("p", {}, "Changes:"), el("ul", {}, ...changed.map((k) => el("li", {}, el("code", {}, k), ": ",
        k in before ? el("del", {}, JSON.stringify(before[k])) : "", " ",
        after && k in after ? el("ins", {}, JSON.stringify(after[k])) : el("em", {}, "removed"))))]));
  }

  function renderOutcomes() {
    const pending = state.pending_resolutions || [];
    document.getElementById("outcomes-section").hidden = pending.length === 0;
    document.getElementById("outcomes").replaceChildren(...pending.map((p) => {
      const card = el("article", { class: "card approval" },
        el("h3", {}, `${p.tool} (${p.tool_call_id})`), el("p", {}, p.message),
        el("pre", { "aria-label": "Arguments" }, JSON.stringify(p.arguments, null, 2)));
      if (!Console.may(me, "approve")) return card;
      const resolve = async (decision) => {
        try {
          await api("POST", `${base}/outcomes/${encodeURIComponent(p.tool_call_id)}`, { decision });
          notice(`Resolved ${p.tool_call_id}: ${decision.replace("_", " ")}`, "ok");
        } catch (error) {
          notice("Not resolved: " + error.message, "error");
        }
        scheduleRefresh();
      };
      card.append(el("div", { class: "inline" },
        el("button", { type: "button", onclick: () => resolve("mark_done") }, "It happened (mark done)"),
        el("button", { type: "button", class: "secondary", onclick: () => resolve("retry") }, "Retry"),
        el("button", { type: "button", class: "danger", onclick: () => resolve("abandon") }, "Abandon")));
      return card;
    }));
  }

  function countdown() {
    for (const node of document.querySelectorAll("time[data-expires]")) {
      const left = Math.max(0, Math.round((Date.parse(node.dataset.expires) - Date.now()) / 1000));
      const h = Math.floor(left / 3600);
      const m = Math.floor((left % 3600) / 60);
      node.textContent = left === 0 ? "now" : `in ${h}h ${m}m ${left % 60}s`;
    }
  }
  setInterval(countdown, 1000);

  // ---- controls ---------------------------------------------------------------------------------
  async function control(name) {
    try {
      const reply = await api("POST", `${base}/${name}`);
      notice(reply.result, "ok");
    } catch (error) {
      notice(`Not sent (${name}): ${error.message}`, "error");
    }
  }
  document.getElementById("pause").addEventListener("click", () => control("pause"));
  document.getElementById("resume").addEventListener("click", () => control("resume"));
  document.getElementById("cancel").addEventListener("click", () => {
    if (confirm("Cancel this run? It stops after its current step.")) control("cancel");
  });
  document.getElementById("message-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("message");
    try {
      await api("POST", `${base}/messages`, { text: box.value });
      notice("Message sent", "ok");
      box.value = "";
    } catch (error) {
      notice("Message not sent: " + error.message, "error");
    }
  });

  // ---- artifacts --------------------------------------------------------------------------------
  async function loadArtifacts() {
    try {
      const listed = await api("GET", `${base}/files`);
      document.getElementById("files").replaceChildren(...(listed.files.length ? listed.files.map((f) => {
        const url = `${base}/files/${f.path.split("/").map(encodeURIComponent).join("/")}`;
        return el("li", {},
          el("button", { type: "button", class: "secondary", onclick: () => preview(f, url) }, `Preview ${f.path}`), " ",
          el("a", { href: url + "?download=true", download: f.path.split("/").pop() }, "Download"),
          el("span", { class: "muted" }, ` ${f.size} bytes`));
      }) : [el("li", { class: "muted" }, "no files yet")]));
    } catch (error) {
      document.getElementById("files").replaceChildren(el("li", { class: "muted" }, error.message));
    }
    try {
      const memories = (await api("GET", `${base}/memories`)).memories;
      document.getElementById("memories").replaceChildren(...(memories.length ? memories.map((m) =>
        el("li", {}, `${m.type} (scope ${m.scope}): ${m.content} `, el("span", { class: "muted" },
          `— ${m.outcome}${m.reason ? ": " + m.reason : ""}`))) : [el("li", { class: "muted" }, "none")]));
    } catch (error) {
      document.getElementById("memories").replaceChildren(el("li", { class: "muted" }, error.message));
    }
  }

  async function preview(file, url) {
    const box = document.getElementById("preview");
    try {
      if (file.kind === "image") {
        box.replaceChildren(el("h3", {}, file.path), el("img", { src: url, alt: "Image " + file.path }));
      } else if (file.kind === "markdown") {
        // Rendered by the API with raw HTML escaped; this page's policy runs no inline script either way.
        const html = await api("GET", url + "?render=true");
        const body = el("div", {});
        body.innerHTML = html;
        box.replaceChildren(el("h3", {}, file.path), body);
      } else if (file.kind === "text") {
        box.replaceChildren(el("h3", {}, file.path), el("pre", {}, await api("GET", url)));
      } else {
        box.replaceChildren(el("p", {}, `${file.path}: no preview for this kind of file; download it.`));
      }
    } catch (error) {
      box.replaceChildren(el("p", { class: "notice error" }, error.message));
    }
  }

  // ---- the event stream -------------------------------------------------------------------------
  function describe(e) {
    const call = e.call_id ? ` (${e.call_id})` : "";
    switch (e.kind) {
      case "status": return `status: ${String(e.status).replaceAll("_", " ")}`;
      case "step_started": return `step ${e.step}: asking the model`;
      case "step_finished": return `step ${e.step} done`;
      case "model": return `model ${e.model_event || ""} ${e.model || ""}${e.message ? ": " + e.message : ""}`;
      case "tool_proposed": return `proposed ${e.tool}${call} ${e.arguments || ""}: policy says ${e.verdict}`;
      case "approval_needed": return `approval needed: ${e.tool}${call}, risk ${e.risk_level}: ${e.message || ""}`;
      case "approval_decided": return `decision: ${e.tool || ""}${call} ${e.decision} by ${e.by}${e.verified ? " (signed)" : ""}${e.message ? ": " + e.message : ""}`;
      case "tool_started": return `running ${e.tool}${call}`;
      case "tool_finished": return `${e.tool}${call} ${e.result_status}${e.message ? ": " + e.message : ""}` +
        (e.preview ? ` → ${e.preview}` : "");
      case "outcome_unknown": return `outcome unknown: ${e.tool}${call}: ${e.message || ""}`;
      case "question": return `the agent asks: ${e.message}`;
      case "compacted": return `context compacted: ${e.message || ""}`;
      case "budget_warning": return `budget warning (${e.budget}): ${e.message || ""}`;
      case "result": return `run ${String(e.status).replaceAll("_", " ")}: ${e.message || ""}`;
      default: return null;
    }
  }

  function onEvent(message) {
    const offset = Number(message.lastEventId);
    if (!(offset > lastOffset)) return; // already shown (a replayed event after a reconnect)
    lastOffset = offset;
    const e = JSON.parse(message.data);
    if (e.kind === "model_tokens") {
      document.getElementById("writing").textContent += e.text || "";
      document.getElementById("writing-box").open = true;
      document.getElementById("answer").setAttribute("aria-busy", "true");
      return;
    }
    if (e.kind === "model_retry" || e.kind === "step_started") document.getElementById("writing").textContent = "";
    if (e.kind === "status" || e.kind === "result") showStatus(e.status);
    if (e.kind === "result") document.getElementById("answer").textContent = e.message || "(no answer)";
    const text = describe(e);
    if (text !== null) {
      document.getElementById("timeline").append(el("li", { "data-offset": offset },
        el("time", { datetime: e.at }, new Date(e.at).toLocaleTimeString()), `step ${e.step} · ${text}`));
    }
    if (e.kind === "result") {
      ended = true;
      document.getElementById("answer").setAttribute("aria-busy", "false");
      stream.close();
      document.getElementById("live").textContent = "";
      loadArtifacts();
    }
    if (e.kind === "tool_finished") loadArtifacts();
    if (REFRESH_ON.has(e.kind)) scheduleRefresh();
  }

  function connect() {
    // A new EventSource cannot send Last-Event-ID itself: `after` says where to resume.
    stream = new EventSource(`${base}/events` + (lastOffset >= 0 ? `?after=${lastOffset}` : ""));
    for (const kind of KINDS) stream.addEventListener(kind, onEvent);
    stream.onopen = () => { document.getElementById("live").textContent = "live"; };
    stream.onerror = () => {
      if (ended) return;
      document.getElementById("live").textContent = "connection lost; reconnecting…";
      // Refused for good (401 after a revoked key, 404): refresh() sends a signed-out person to sign in.
      if (stream.readyState === EventSource.CLOSED) refresh().then(() => { if (!ended) setTimeout(connect, 1500); });
    };
  }

  await refresh();
  // Followed even when its state cannot be read now (no worker of its queue answers): the stream waits
  // for a worker too, and its first events refresh the page. Not for a run that does not exist.
  if (state || !ended) {
    await loadArtifacts();
    connect();
  }
})();

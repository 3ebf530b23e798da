"use strict";
// What every console page shares: calling the run API with the session cookie, building elements
// from text (never from HTML strings), and the notice line that screen readers announce.
const Console = (() => {
  async function api(method, path, body, signal) {
    const init = { method, credentials: "same-origin", headers: { "X-Agent-Console": "1" }, signal };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401 && !path.startsWith("/console/session")) {
      location.assign("/console/login?next=" + encodeURIComponent(location.pathname));
      throw new Error("signed out");
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("application/json") ? await response.json() : await response.text();
    if (!response.ok) {
      const error = new Error(describe(data, response.status));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function describe(data, status) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => (d.loc || []).join(".") + ": " + d.msg).join("; ");
    return "HTTP " + status;
  }

  // el("a", {href: "/x", class: "y"}, "text", child, ...): attributes are set as attributes, children as text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function notice(text, kind) {
    const line = document.getElementById("notice");
    line.textContent = text;
    line.className = "notice" + (kind ? " " + kind : "");
  }

  function usd(value) {
    return value === null || value === undefined ? "no limit" : "$" + Number(value).toFixed(4);
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  async function whoami() {
    const me = await api("GET", "/v1/me");
    const who = document.getElementById("who");
    who.replaceChildren(el("span", {}, me.name + " · tenant " + me.tenant + " · " + me.roles.join(", ")), " ",
      el("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"));
    return me;
  }

  async function signOut() {
    await api("DELETE", "/console/session");
    location.assign("/console/login");
  }

  function may(me, role) {
    return me.roles.includes(role) || me.roles.includes("admin");
  }

  return { api, el, notice, usd, when, whoami, may };
})();

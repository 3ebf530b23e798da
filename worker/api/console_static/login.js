"use strict";
document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = document.getElementById("key").value.trim();
  try {
    await Console.api("POST", "/console/session", { key });
  } catch (error) {
    Console.notice("Not signed in: " + error.message, "error");
    return;
  }
  // Only back into the console: a next= that points elsewhere is ignored (no open redirect).
  const next = new URLSearchParams(location.search).get("next") || "";
  location.assign(/^\/console(\/[A-Za-z0-9._~%-]+)*$/.test(next) ? next : "/console");
});

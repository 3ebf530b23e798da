"""The web console as people use it: a real headless Chromium (Debian's package, through chromedriver)
against `python -m worker.api` (restarted mid-run), a real worker process and a model server that
streams its replies and decides from each request, on the real dev server."""

from __future__ import annotations

import json
import re
import uuid

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.api.browser import browser
from tests.api.test_agent_cli import ApiProcess
from tests.conftest import eventually, wire_model, write_models_file
from tests.fault_tools import EFFECTS_ENV, effect_lines
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_result_seen, tool_then_answer
from worker.agent_cli.client import parse_sse

REPORT = {"path": "report.md", "content": "# Report\n\nAll **done**. <script>alert('x')</script>\n"}
ANSWER = "The report is in report.md"


# Form fields a screen reader could not name.
UNLABELLED = """return [...document.querySelectorAll('input, textarea, select')]
  .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label')).map((e) => e.outerHTML);"""
OVERFLOW = "return document.documentElement.scrollWidth - window.innerWidth;"


def listed(page) -> list:
    """The runs page's rows; asks the page to refresh while there are none (visibility lags a start)."""
    rows = page.all("#runs tr")
    if not rows:
        page.find("#refresh").click()
    return rows


def streaming_worker(tmp_path, address: str, queue: str, model: ModelWireServer) -> WorkerProcess:
    models = write_models_file(tmp_path / "models.yaml", wire_model("m", model, stream=True, timeout_s=30))
    return WorkerProcess(address, queue, tmp_path / "data", model.base_url, env={"AGENT_MODELS_FILE": str(models)})


def all_events(api_url: str, key: str, run_id: str) -> list[tuple[int, str]]:
    """Every event of an ended run, as any SSE client reads it: (offset, kind)."""
    with httpx.stream("GET", f"{api_url}/v1/runs/{run_id}/events", headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as response:
        events = []
        for event in parse_sse(response.iter_lines()):
            events.append((event.offset, event.kind))
            if event.kind == "result":
                return events
    raise AssertionError(f"the stream ended without a result: {events}")


async def test_a_person_starts_watches_approves_and_reads_what_the_run_wrote(dev_server, tmp_path):
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    api = ApiProcess(address, queue, tmp_path / "data")
    alice = api.key("alice", "acme", "start,view,approve")
    with ModelWireServer(tool_then_answer("write_file", REPORT, ANSWER)) as model, \
            streaming_worker(tmp_path, address, queue, model):
        await api.start()
        try:
            with browser(api.url) as page:
                page.sign_in(alice)
                page.find("#goal").send_keys("write the report")
                page.find("#start-form button[type=submit]").click()
                page.wait(lambda: "/console/runs/api-" in page.driver.current_url, "the run's own page")
                run_id = page.driver.current_url.rsplit("/", 1)[-1]
                page.wait(lambda: page.all('article[data-call="call-1-1"]'), "the pending approval")
                # The model's reply arrived token by token before the run stopped to ask.
                written = page.find("#writing").get_attribute("textContent")
                assert '"write_file"' in written and "report.md" in written, written
                assert page.text("#status") == "waiting for human"
                card = page.text('article[data-call="call-1-1"]')
                assert "write_file" in card and "risk 2" in card and re.search(r"Expires in (23h 59m|24h 0m) \d+s", card), card

                api.process.kill()  # the API goes away under the open page, then comes back on its port
                page.wait(lambda: page.text("#live") == "connection lost; reconnecting…", "the lost connection")
                await api.start()
                page.wait(lambda: page.text("#live") == "live", "the stream back")

                unlabelled = page.driver.execute_script(UNLABELLED)
                page.button("Approve", 'article[data-call="call-1-1"]').send_keys(Keys.ENTER)  # by keyboard
                page.wait(lambda: page.text("#status") == "completed", "the run completed", timeout_s=90)
                page.wait(lambda: page.text("#answer") == ANSWER, "the answer")
                page.wait(lambda: page.timeline() and "run completed" in page.timeline()[-1][1], "the result line")
                shown = page.timeline()
                page.wait(lambda: page.button("Preview report.md", "#files"), "the file the run wrote").click()
                page.wait(lambda: page.all("#preview strong"), "the rendered Markdown")
                preview = page.find("#preview")
                assert preview.find_element(By.TAG_NAME, "h1").text == "Report"
                assert "<script>alert('x')</script>" in preview.text and not preview.find_elements(By.TAG_NAME, "script")
                download = page.driver.find_element(By.LINK_TEXT, "Download").get_attribute("href")
                audit = page.text("#audit")
            events = all_events(api.url, alice, run_id)
        finally:
            api.stop()
    assert unlabelled == [], unlabelled
    offsets = [offset for offset, _ in shown]
    assert offsets == sorted(set(offsets)), shown  # nothing repeated after the reconnect
    described = [(o, k) for o, k in events if k not in ("model_tokens", "model_retry")]
    assert offsets == [o for o, _ in described], (shown, events)  # and nothing lost
    assert any(t.endswith('proposed write_file (call-1-1) {"content":"# Report\\n\\nAll **done**. <script>alert(\'x\')'
                          '</script>\\n","path":"report.md"}: policy says ask') for _, t in shown), shown
    assert any('write_file (call-1-1) ok → {"bytes":' in t and '"path":"report.md"' in t for _, t in shown), shown
    assert "approved by alice" in audit.replace("call-1-1) approved by alice", "approved by alice")
    assert download.endswith(f"/v1/runs/{run_id}/files/report.md?download=true")


def write_then_ask(body: dict) -> str:
    """Write the report, then ask the person something (the run stays open, waiting)."""
    if tool_result_seen(body, "write_file"):
        return json.dumps({"action": "ask_human", "question": "Anything else?"})
    return json.dumps({"action": "call_tool", "tool": "write_file", "arguments": REPORT})


async def test_other_tenants_viewers_and_forged_requests_get_nothing(dev_server, tmp_path):
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    api = ApiProcess(address, queue, tmp_path / "data")
    alice, bob = api.key("alice", "acme", "start,view,approve"), api.key("bob", "other", "admin")
    vic = api.key("vic", "acme", "view")
    with ModelWireServer(write_then_ask) as model, \
            streaming_worker(tmp_path, address, queue, model):
        await api.start()
        try:
            bearer = {"Authorization": f"Bearer {alice}"}
            async with httpx.AsyncClient(base_url=api.url, headers=bearer, timeout=30) as http:
                run_id = (await http.post("/v1/runs", json={"goal": "write the report"})).json()["id"]

                async def waiting() -> bool:
                    return (await http.get(f"/v1/runs/{run_id}")).json()["status"] == "waiting_for_human"

                await eventually(waiting, timeout_s=60, what="the run to wait for approval")
                run_page = f"/console/runs/{run_id}"
                with browser(api.url) as stranger, browser(api.url, width=390, height=844) as viewer, \
                        browser(api.url) as live, \
                        browser(api.url, block=["*/events*"]) as stale:
                    stranger.sign_in(bob)
                    stranger.wait(lambda: stranger.find("#empty").is_displayed(), "an empty list")
                    stranger.open(run_page)
                    stranger.wait(lambda: stranger.text("#notice") == "No such run in your tenant.", "not found")

                    viewer.sign_in(vic, then=run_page)  # on a phone-width screen
                    viewer.wait(lambda: viewer.all('article[data-call="call-1-1"]'), "the pending call")
                    phone_overflow = viewer.driver.execute_script(OVERFLOW)
                    assert "Your role does not allow approving calls." in viewer.text('article[data-call="call-1-1"]')
                    assert viewer.button("Approve") is None and viewer.find("#controls").get_attribute("hidden")
                    forged = viewer.fetch("POST", f"/v1/runs/{run_id}/approvals/call-1-1", {"decision": "approve"})

                    live.sign_in(alice)
                    live.wait(lambda: listed(live), "alice's runs")
                    read = f'#runs tr[data-run="{run_id}"][data-state="read"]'
                    row = live.wait(lambda: live.text(read), "the run's state in its row")
                    assert "write the report" in row and "waiting for human" in row, row
                    live.find(f'a[href="{run_page}"]').click()
                    for page in (live, stale):
                        if page is stale:
                            page.sign_in(alice, then=run_page)
                        page.wait(lambda p=page: p.button("Approve", 'article[data-call="call-1-1"]'), "Approve")
                    cross_site = live.fetch("POST", f"/v1/runs/{run_id}/pause", None, console_header=False)
                    decided = await http.post(f"/v1/runs/{run_id}/approvals/call-1-1",
                                              json={"decision": "approve", "comment": "from the CLI"})
                    # Decided elsewhere: the live page drops the card and says who decided.
                    live.wait(lambda: not live.all('article[data-call="call-1-1"]'), "the card gone")
                    live.wait(lambda: any("approved by alice: from the CLI" in t for _, t in live.timeline()),
                              "the decision in the timeline")
                    # A page that missed it (its stream blocked) still offers the button: the refusal is shown.
                    stale.button("Approve", 'article[data-call="call-1-1"]').click()
                    stale.wait(lambda: stale.text("#notice").startswith("Not approved:"), "the refusal")
                    refusal = stale.text("#notice")
                    live.wait(lambda: live.text("#question") == "Anything else?", "the run's question")
                    live.find("#message").send_keys("nothing, thanks")
                    live.find("#message-form button[type=submit]").click()
                    live.wait(lambda: live.text("#notice") == "Message sent", "the message sent")
                    live.button("Pause").click()
                    live.wait(lambda: live.text("#notice") == "pause sent", "pause sent")
                    live.button("Resume").click()
                    live.wait(lambda: live.text("#notice") == "resume sent", "resume sent")
                    live.button("Cancel run").click()
                    live.driver.switch_to.alert.accept()
                    live.wait(lambda: live.text("#status") == "cancelled", "the run cancelled")
        finally:
            api.stop()
    assert decided.status_code == 200, decided.text
    assert phone_overflow <= 0, f"the page is {phone_overflow}px wider than a 390px screen"
    assert forged["status"] == 403 and "may not approve" in forged["body"], forged
    assert cross_site["status"] == 403 and "X-Agent-Console" in json.loads(cross_site["body"])["detail"]
    assert "call-1-1" in refusal and "ended" not in refusal, refusal  # the run's own reason, the run still open


async def test_a_run_no_worker_can_read_is_listed_at_once_and_the_page_says_why(dev_server, tmp_path):
    """A run's state is a query, which needs a worker of its queue: a run whose workers are gone must
    not hold up the list (it did: each refresh waited for it, and refreshes stacked up behind one
    another), and the page says why it shows no step."""
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    api = ApiProcess(address, queue, tmp_path / "data")
    carol = api.key("carol", f"tenant-{uuid.uuid4().hex[:8]}", "start,view")
    with ModelWireServer(write_then_ask) as model:
        await api.start()
        try:
            async with httpx.AsyncClient(base_url=api.url, headers={"Authorization": f"Bearer {carol}"},
                                         timeout=60) as http:
                with streaming_worker(tmp_path, address, queue, model):
                    run_id = (await http.post("/v1/runs", json={"goal": "write the report"})).json()["id"]

                    async def listed_waiting() -> bool:
                        runs = (await http.get("/v1/runs")).json()["runs"]
                        return [r["status"] for r in runs] == ["waiting_for_human"]

                    await eventually(listed_waiting, timeout_s=60, what="the run listed as waiting")
                # Its only worker has stopped.
                with browser(api.url) as page:
                    page.sign_in(carol)
                    row = f'#runs tr[data-run="{run_id}"]'
                    page.wait(lambda: page.all(row), "the run's row")
                    first = page.find(row).get_attribute("data-state"), page.text(row)
                    page.wait(lambda: page.all(row + '[data-state="unread"]'), "the row marked unread")
                    why = page.find(row).get_attribute("title")
                    page.find(f'{row} a').click()  # its own page says the same
                    page.wait(lambda: page.text("#notice").startswith("Could not read the run:"), "the reason")
                    notice = page.text("#notice")
                unanswered = await http.get(f"/v1/runs/{run_id}")
        finally:
            api.stop()
    assert first[0] == "reading" and "waiting for human" in first[1], first  # from the list, before any state
    assert f"no worker answered for run '{run_id}': none polls its task queue" in why, why
    assert "no worker answered" in notice, notice
    assert unanswered.status_code == 503, unanswered.text
    assert "Is a worker of its task queue running?" in unanswered.json()["detail"], unanswered.text


def pay_once(body: dict) -> str:
    if tool_result_seen(body, "fault_once_hung"):
        return json.dumps({"action": "final_answer", "answer": "payment recorded"})
    return json.dumps({"action": "call_tool", "tool": "fault_once_hung", "arguments": {"label": "pay-7"}})


async def test_a_person_resolves_an_unknown_outcome_from_the_page(dev_server, tmp_path):
    """A not-idempotent call whose worker died mid-call may or may not have acted: the page asks, the
    person says it happened, and the run goes on without acting again."""
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    effects = tmp_path / "effects.log"
    api = ApiProcess(address, queue, tmp_path / "data")
    alice = api.key("alice", "acme", "start,view,approve")
    with ModelWireServer(pay_once) as model, WorkerProcess(
            address, queue, tmp_path / "data", model.base_url, tool_modules="tests.fault_tools",
            env={EFFECTS_ENV: str(effects)}) as worker:
        await api.start()
        try:
            async with httpx.AsyncClient(base_url=api.url, headers={"Authorization": f"Bearer {alice}"}) as http:
                run_id = (await http.post("/v1/runs", json={"goal": "pay invoice 7"})).json()["id"]

            async def paid() -> bool:
                return effect_lines(effects) == ["pay-7"]

            # The worker dies after the payment went out and before its receipt was written.
            await eventually(paid, timeout_s=60, what="the payment")
            worker.restart()
            with browser(api.url) as page:
                page.sign_in(alice, then=f"/console/runs/{run_id}")
                page.wait(lambda: page.button("It happened (mark done)", "#outcomes"), "the unknown outcome",
                          timeout_s=90)
                assert "fault_once_hung (call-1-1)" in page.text("#outcomes")
                page.button("It happened (mark done)", "#outcomes").click()
                page.wait(lambda: page.text("#status") == "completed", "the run completed", timeout_s=90)
                answer = page.text("#answer")
        finally:
            api.stop()
    assert answer == "payment recorded"
    assert effect_lines(effects) == ["pay-7"]  # acted once, never again after the person's answer

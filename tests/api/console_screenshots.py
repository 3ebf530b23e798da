"""Screenshots of the web console for docs/console.md, taken from a real run: refresh them when a page changes.

    python -m tests.api.console_screenshots [--out docs/images]

Starts what a person's session needs, all on loopback: a Temporal dev server, `python -m worker` with a
model server that streams its replies (tests/wire_server.py, deciding from each request), and
`python -m worker.api`. Then Debian's Chromium, through Selenium, signs in, starts a run from the runs
page, and saves:

- console-approval.png: the run waiting for approval, with edited arguments shown as a diff;
- console-run.png: the same run completed, with its timeline, answer and the file it wrote, previewed;
- console-runs.png: the runs page;
- console-phone.png: the run page on a 390 px wide screen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.api.browser import browser
from tests.api.test_agent_cli import ApiProcess
from tests.conftest import wire_model, write_models_file
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_result_seen
from worker.evals.stack import start_temporal
from worker.settings import REPO_ROOT

REPORT = {"path": "summary.md", "content": "# Q3 vendor review\n\n- **Acme Logistics**: 97 of 100 deliveries on time\n"
          "- **Borealis Freight**: 88 of 100\n\nRecommendation: renew Acme for a year.\n"}


def respond(body: dict) -> str:
    if tool_result_seen(body, "write_file"):
        return json.dumps({"action": "final_answer", "answer": "The vendor review is in summary.md: renew Acme "
                           "Logistics (97% on time) for a year."})
    return json.dumps({"action": "call_tool", "tool": "write_file", "arguments": REPORT})


async def take(out: Path, workdir: Path) -> None:
    server = start_temporal(workdir)
    try:
        queue, data = "console-shots", workdir / "data"
        api = ApiProcess(server.config.address, queue, data)
        key = api.key("alice", "acme", "start,view,approve")
        with ModelWireServer(respond) as model:
            models = write_models_file(workdir / "models.yaml", wire_model("gpt-4o-mini", model, stream=True, timeout_s=30))
            with WorkerProcess(server.config.address, queue, data, model.base_url,
                               env={"AGENT_MODELS_FILE": str(models)}):
                await api.start()
                try:
                    with browser(api.url, width=1280, height=1100) as page:
                        page.sign_in(key)
                        page.find("#goal").send_keys("Review the Q3 vendor deliveries and write a summary to summary.md")
                        page.find("#start-form button[type=submit]").click()
                        page.wait(lambda: page.all('article[data-call="call-1-1"]'), "the approval")
                        run_path = page.driver.current_url.removeprefix(api.url)
                        page.find('article[data-call="call-1-1"] summary').click()
                        edit = page.find('article[data-call="call-1-1"] textarea')
                        edit.clear()
                        edit.send_keys(json.dumps({**REPORT, "path": "q3-summary.md"}, indent=2))
                        page.find('article[data-call="call-1-1"] input[type=text]').send_keys("looks right")
                        page.driver.execute_script("document.querySelector('#approvals').scrollIntoView()")
                        page.driver.save_screenshot(str(out / "console-approval.png"))
                        edit.clear()
                        edit.send_keys(json.dumps(REPORT, indent=2))
                        page.button("Approve", 'article[data-call="call-1-1"]').click()
                        page.wait(lambda: page.text("#status") == "completed", "completed", timeout_s=90)
                        page.wait(lambda: page.button("Preview summary.md", "#files"), "the file").click()
                        page.wait(lambda: page.all("#preview h1"), "the preview")
                        page.driver.execute_script("window.scrollTo(0, 0)")
                        page.driver.set_window_size(1280, 2000)
                        page.driver.save_screenshot(str(out / "console-run.png"))
                        page.open("/console")
                        page.wait(lambda: page.all("#runs tr") or page.find("#refresh").click(), "the runs")
                        page.driver.set_window_size(1280, 900)
                        page.driver.save_screenshot(str(out / "console-runs.png"))
                    with browser(api.url, width=390, height=1400) as phone:
                        phone.sign_in(key, then=run_path)
                        phone.wait(lambda: phone.text("#status") == "completed", "completed")
                        phone.driver.find_element(By.TAG_NAME, "body")
                        phone.driver.save_screenshot(str(out / "console-phone.png"))
                finally:
                    api.stop()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as tmp:
        asyncio.run(take(args.out, Path(tmp)))
    for name in ("console-runs.png", "console-run.png", "console-approval.png", "console-phone.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()

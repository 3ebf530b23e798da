"""A real headless Chromium (Debian's package) driven through its chromedriver by Selenium, as a person
uses the web console: sign in with a key, click, read what the page shows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class Page:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver, self.base_url = driver, base_url

    def open(self, path: str) -> Page:
        self.driver.get(self.base_url + path)
        return self

    def sign_in(self, key: str, then: str = "/console") -> Page:
        self.open("/console/login?next=" + then)
        self.driver.find_element(By.ID, "key").send_keys(key)
        self.driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
        self.wait(lambda: self.driver.current_url.endswith(then) and self.text("#who") != "", f"signed in at {then}")
        return self

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        found = self.all(css)
        return found[0].text if found else ""

    def button(self, label: str, within: str = "main") -> WebElement | None:
        return next((b for b in self.all(f"{within} button") if b.text == label and b.is_displayed()), None)

    def wait(self, condition: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
        """Until `condition()` is truthy (the page's own state, read again and again), or fail naming `what`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if value := condition():
                    return value
            except StaleElementReferenceException:
                pass  # the page re-rendered that element meanwhile
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {what}; it shows:\n{self.text('main')[:3000]}")
            time.sleep(0.05)

    def fetch(self, method: str, path: str, body: Any = None, console_header: bool = True) -> dict[str, Any]:
        """A request from inside the page (the page's cookie rides along): status and body."""
        return self.driver.execute_async_script("""
            const [method, path, body, header, done] = arguments;
            const headers = {"Content-Type": "application/json"};
            if (header) headers["X-Agent-Console"] = "1";
            fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body), credentials: "same-origin"})
              .then(async (r) => done({status: r.status, body: await r.text()}));
        """, method, path, body, console_header)

    def timeline(self) -> list[tuple[int, str]]:
        return [(int(li.get_attribute("data-offset")), li.text) for li in self.all("#timeline li")]


@contextmanager
def browser(base_url: str, width: int = 1280, height: int = 1000, block: list[str] | None = None) -> Iterator[Page]:
    """A fresh browser profile (its own cookies); `block` lists URL patterns it never loads."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(30)
    try:
        if block:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": block})
        yield Page(driver, base_url)
    finally:
        driver.quit()

"""The Airflow UI in a real browser (headless Chromium from Debian, driven through its chromedriver): log in with the
admin password, open retail_etl, trigger it from the UI's trigger dialog and see the run succeed in the UI, through
the scheduler of a real `./mwaa-local up` and the local cloud (tiny seeded source). The DAG's grid after the run is
kept as a screenshot in .local/test-output/ui/ for the README.

Chromium missing: a failure under CI=true (`.ci/run` installs it), a skip that says how to install it otherwise."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time

import pytest

from mwaa_local import paths, postgres
from mwaa_local.cloud import process
from mwaa_local.seed import load
from mwaa_local.seed.generate import Plan
from tests.cli.conftest import ENTRY, cli  # noqa: F401 - the fixture
from tests.runtime.test_up import _http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]

SCREENSHOTS = paths.ROOT / ".local" / "test-output" / "ui"
PASSWORD = "browser-Admin-pw"
DAG_ID = "retail_etl"
RUN_DEADLINE_S = 1800  # two runs on a loaded, shared machine: generous; the assertion is on states, not time
WAIT_S = 120


def _browser_paths() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = ("headless Chromium is not installed (Debian packages chromium and chromium-driver): "
               "apt-get install -y chromium chromium-driver, or run .ci/run")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _driver(chromium: str, chromedriver: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1600,1000"):
        options.add_argument(argument)
    # An explicit chromedriver: Selenium Manager never downloads a driver or a browser.
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def _wait(driver, condition, what: str, seconds: float = WAIT_S):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.5).until(condition)
    except TimeoutException:
        shot = SCREENSHOTS / "failure.png"
        driver.save_screenshot(str(shot))
        raise AssertionError(f"the UI did not show {what} (page {driver.current_url}; screenshot {shot})") from None


def _button(driver, text: str, within=None):
    """A visible, enabled button whose text is `text` (the React UI has no stable ids)."""
    from selenium.webdriver.common.by import By

    for element in (within or driver).find_elements(By.XPATH, f".//button[normalize-space()='{text}']"):
        if element.is_displayed() and element.is_enabled():
            return element
    return None


def _up(cli, ports: dict[str, int]) -> None:  # noqa: F811 - cli is the fixture
    env = cli.env() | {"MWAA_LOCAL_ADMIN_PASSWORD": PASSWORD}
    done = subprocess.run([str(ENTRY), "up", "--detach", "--port", str(ports["cloud"]), "--api-port",
                           str(ports["api"]), "--no-mlflow"], cwd=paths.ROOT, env=env,
                          capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr


def _runs(api: str, token: str) -> list[dict]:
    for attempt in range(5):  # a loaded machine can make one request time out; a wrong answer fails at once
        try:
            status, answer = _http("GET", f"{api}/api/v2/dags/{DAG_ID}/dagRuns", token=token)
            break
        except TimeoutError:
            if attempt == 4:
                raise
    assert status == 200, status
    return answer["dag_runs"]


def test_trigger_retail_etl_from_the_ui_and_see_it_succeed(cli):  # noqa: F811 - cli is the fixture
    chromium, chromedriver = _browser_paths()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ports = {"cloud": process.free_port(), "api": process.free_port()}
    api = f"http://127.0.0.1:{ports['api']}"
    _up(cli, ports)
    # A manual run covers the daily interval that ends at its logical date (now): yesterday; today too, in case
    # the test runs across midnight. Tiny: a few hundred orders.
    today = dt.datetime.now(dt.UTC).date()
    load.seed(postgres.server_dsn(cli.postgres_port, "retail"),
              Plan(orders=300, start=today - dt.timedelta(days=1), days=2, seed=11))
    token = _http("POST", f"{api}/auth/token", {"username": "admin", "password": PASSWORD})[1]["access_token"]
    assert _runs(api, token) == []

    driver = _driver(chromium, chromedriver)
    try:
        run_id = login_trigger_and_follow(driver, api, PASSWORD, token)
        shot = SCREENSHOTS / "retail_etl_grid.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000, f"{run_id}: the screenshot is (nearly) empty"
    finally:
        driver.quit()
        cli.run("down", timeout=300)


def login_trigger_and_follow(driver, api: str, password: str, token: str) -> str:
    """Logs in, triggers retail_etl from its page's trigger dialog, waits for the run to end, shows it succeeded in
    the UI and leaves the browser on the DAG's grid; returns the run id."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    # The UI requires a login: FAB's login form, then the admin is in.
    driver.get(f"{api}/dags/{DAG_ID}")
    _wait(driver, lambda d: d.find_elements(By.NAME, "password"), "the login form")
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(password + Keys.ENTER)
    _wait(driver, lambda d: not d.find_elements(By.NAME, "password"), "a successful login")
    if f"/dags/{DAG_ID}" not in driver.current_url:
        driver.get(f"{api}/dags/{DAG_ID}")

    # The DAG page's Trigger button opens the trigger dialog; its own Trigger button starts a single run (the
    # dialog's "Unpause on trigger" is on by default: a new DAG is paused, as on MWAA).
    _wait(driver, lambda d: _button(d, "Trigger"), "the Trigger button of retail_etl").click()
    dialog = _wait(driver, lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "[role=dialog]")
                                           if e.is_displayed()), None), "the trigger dialog")
    _wait(driver, lambda d: "Single Run" in dialog.text and "Logical Date" in dialog.text, "the single-run form")
    _wait(driver, lambda d: _button(d, "Trigger", within=dialog), "the dialog's Trigger button").click()
    _wait(driver, lambda d: "Dag Run Triggered" in d.find_element(By.TAG_NAME, "body").text,
          "the 'Dag Run Triggered' notice")

    # Unpausing also makes the scheduler start the latest interval's scheduled run (catchup=False), as on MWAA; the
    # manual run (the same interval: max_active_runs=1) follows it.
    manual = [r for r in _runs(api, token) if r["run_type"] == "manual"]
    assert len(manual) == 1, manual
    run_id = manual[0]["dag_run_id"]

    def state() -> str:
        return next(r["state"] for r in _runs(api, token) if r["dag_run_id"] == run_id)

    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline and state() not in ("success", "failed"):
        time.sleep(5)
    assert state() == "success", f"run {run_id} ended {state()}"

    # The UI shows it: the run's page has the run's state badge at Success, beside the DAG's grid with the run.
    driver.get(f"{api}/dags/{DAG_ID}/runs/{run_id}")
    badge = f"//h2[normalize-space()='{run_id}']/following-sibling::span[@data-testid='state-badge'][1]"
    _wait(driver, lambda d: any(e.text.strip() == "Success" for e in d.find_elements(By.XPATH, badge)),
          "the run's state badge at Success")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"a[href*='/runs/{run_id}']"), "the run in the grid")
    time.sleep(2)  # let the grid finish painting before the screenshot (not an assertion)
    return run_id

"""The browser tumour board in a real Chromium (Playwright) against ``tumorboard serve``.

One server over a private copy of the analysed cohort serves the whole module. The flow of a
board member runs through the pages as a user would: sign in, filter the patient list to
DSRCT, read a patient (diagnosis, concordance, recommendations, the expression-versus-
activation figure), create a board session, put the patient on the agenda, accept
trastuzumab deruxtecan and reject the rest with a reason (once with JavaScript turned off),
sign off, open the signed report, and enter follow-up until the PFS ratio of the guided line
shows. A viewer sees no decision forms; signing out returns to the sign-in page.

Chromium is Debian's (``/usr/bin/chromium``); no browser is downloaded. Without it the tests
skip, unless ``TUMORBOARD_REQUIRE_BROWSER=1`` (CI), where they fail. With
``TUMORBOARD_SCREENSHOTS=<folder>`` full-page screenshots of the main pages are saved there
(``make screenshots``).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORD, _with_users, copy_registry
from tumorboard.config import Settings
from tumorboard.workspace import Workspace

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
PATIENT = "DSRCT-001"
BOARD_DATE = "2025-05-10"
TDXD = re.compile(r"trastuzumab deruxtecan", re.I)
SHOTS = os.environ.get("TUMORBOARD_SCREENSHOTS")
#: Screenshots larger than this are clipped to the first CLIP_HEIGHT pixels.
MAX_PNG_BYTES = 1_500_000
CLIP_HEIGHT = 2500
TIMEOUT_MS = 20_000

REQUIRE_BROWSER = os.environ.get("TUMORBOARD_REQUIRE_BROWSER") == "1"
try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - the dev extra installs it
    if REQUIRE_BROWSER:
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _import_simulated_outcomes(ws: Workspace, truth: Any, root: Path) -> None:
    """Simulated outcomes of the cohort (as ``tumorboard demo`` imports them) for the cohort
    page, except for the flow's patient, whose follow-up the test enters itself."""
    from tumorboard.outcomes.records import import_outcome_files
    from tumorboard.simulate import simulate_outcomes

    folder = root / "simulated-outcomes"
    simulate_outcomes(folder, truth, seed=7)
    for path in folder.glob("*.csv"):
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not rows or "patient" not in rows[0]:
            continue
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if r["patient"] != PATIENT)
    import_outcome_files(ws, sorted(folder.glob("*.csv")), source="simulated")


def _store_recommendations(ws: Workspace) -> None:
    """Every patient's recommendations stored, as ``tumorboard demo`` leaves the registry
    (the patient page shows stored recommendations only)."""
    from sqlalchemy import select

    from tumorboard.board import ensure_recommendations
    from tumorboard.registry.models import Patient

    with ws.session() as s:
        pseudonyms = list(s.scalars(select(Patient.pseudonym)))
    for pseudonym in pseudonyms:
        ensure_recommendations(ws, pseudonym)


@pytest.fixture(scope="module")
def server(analysed, tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[str]:
    """Base URL of ``tumorboard serve`` over a private copy of the analysed cohort."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    source, truth = analysed
    base = tmp_path_factory.mktemp("browser")
    root = base / "ws"
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns("registry.sqlite*"))
    url = f"sqlite:///{root / 'registry.sqlite'}"
    copy_registry(source, url)
    users = _with_users(Settings(workspace=root, database_url=url))
    ws = next(users)
    _store_recommendations(ws)
    _import_simulated_outcomes(ws, truth, base)
    ws.engine.dispose()

    port = _free_port()
    log = (base / "server.log").open("w+")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tumorboard"), "serve", "--workspace", str(root),
         "--db", url, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    failed_before = request.session.testsfailed
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"tumorboard serve did not start:\n{log.read()}")
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if request.session.testsfailed > failed_before:
            log.seek(0)
            print(f"\n--- tumorboard serve output ---\n{log.read()}", file=sys.stderr)
        log.close()
        next(users, None)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def _new_page(browser: Any, server: str, *, javascript: bool = True) -> Any:
    context = browser.new_context(base_url=server, java_script_enabled=javascript,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/patients"))
    sync_api.expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _wait_for_image(img: Any) -> int:
    """Scroll a (lazy) image into view and wait until it has loaded; its natural width."""
    img.scroll_into_view_if_needed()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        width = img.evaluate("i => i.complete ? i.naturalWidth : 0")
        if width:
            return int(width)
        time.sleep(0.1)
    return 0


def _shoot(page: Any, name: str) -> None:
    """A full-page PNG of the page in $TUMORBOARD_SCREENSHOTS (lazy images loaded first)."""
    if not SHOTS:
        return
    for img in page.locator("img").all():
        _wait_for_image(img)
    page.evaluate("() => window.scrollTo(0, 0)")
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if path.stat().st_size > MAX_PNG_BYTES:
        page.screenshot(path=str(path), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": CLIP_HEIGHT})


def _proposed_rows(page: Any) -> Any:
    """Agenda rows of the patient still to decide (accept and reject offered)."""
    return page.locator(f"#patient-{PATIENT} tbody tr").filter(
        has=page.locator("input[value=accepted]")).filter(
        has=page.locator("input[value=rejected]"))


def _reject(page: Any, row: Any, reason: str) -> None:
    row.get_by_label("reject", exact=True).check()
    field = row.get_by_label(re.compile(r"reason for recommendation"))
    sync_api.expect(field).to_be_visible()
    field.fill(reason)
    row.get_by_role("button", name="Record").click()
    page.wait_for_url(re.compile(r"message="))


def test_board_member_flow(browser: Any, server: str) -> None:
    expect = sync_api.expect
    page = _new_page(browser, server)
    _sign_in(page, "board_member")

    # the patient list, filtered to DSRCT (the select submits the filter form by itself)
    page.goto("/patients")
    _shoot(page, "patients")
    with page.expect_navigation():
        page.get_by_label("Entity").select_option("DSRCT")
    assert "entity=DSRCT" in page.url
    table = page.locator("table.patients tbody")
    expect(table.get_by_role("link", name=PATIENT, exact=True)).to_be_visible()
    entities = table.locator("tr td:nth-child(2) strong").all_inner_texts()
    assert entities and set(entities) == {"DSRCT"}, entities

    # the patient: diagnosis, concordance, recommendations, expression v. activation figure
    table.get_by_role("link", name=PATIENT, exact=True).click()
    page.wait_for_url(f"**/patients/{PATIENT}")
    expect(page.get_by_role("heading", name=PATIENT, level=1)).to_be_visible()
    diagnosis = page.locator("section[aria-labelledby=h-diagnosis]")
    expect(diagnosis).to_contain_text("DSRCT")
    concordance = page.locator("section[aria-labelledby=h-concordance]")
    expect(concordance.locator(".status")).to_be_visible()
    recommendations = page.locator("section[aria-labelledby=h-recommendations]")
    expect(recommendations.locator("tbody tr").filter(has_text=TDXD)).to_have_count(1)
    figure = page.get_by_alt_text(re.compile("Expression versus activation"))
    assert _wait_for_image(figure) > 0, "the expression-versus-activation figure did not load"
    _shoot(page, "patient")

    # a board session, the patient on its agenda
    page.get_by_role("link", name="Board sessions").click()
    page.get_by_label("Date").fill(BOARD_DATE)
    page.get_by_label("Title").fill("Sarcoma MTB")
    page.get_by_role("button", name="Create session").click()
    page.wait_for_url(re.compile(r"message="))
    page.goto(f"/board/{BOARD_DATE}")
    page.get_by_label("Patient", exact=True).fill(PATIENT)
    page.get_by_label("Question").fill("Targeted options after P6?")
    page.get_by_role("button", name="Add to the agenda").click()
    page.wait_for_url(re.compile(r"message="))
    item = page.locator(f"#patient-{PATIENT}")
    expect(item).to_contain_text("Targeted options after P6?")

    # accept trastuzumab deruxtecan: no reason asked (the script hides the field)
    tdxd = item.locator("tbody tr").filter(has_text=TDXD)
    expect(tdxd.locator("[data-reason]")).to_be_hidden()
    tdxd.get_by_label("accept", exact=True).check()
    expect(tdxd.locator("[data-reason]")).to_be_hidden()
    tdxd.get_by_role("button", name="Record").click()
    page.wait_for_url(re.compile(r"message="))
    expect(page.locator(f"#patient-{PATIENT} tbody tr").filter(has_text=TDXD)
           .locator(".status").first).to_contain_text("accepted")
    n_others = _proposed_rows(page).count()

    # one rejection without JavaScript: the reason field is simply there
    if n_others:
        plain = _new_page(browser, server, javascript=False)
        _sign_in(plain, "board_member")
        plain.goto(f"/board/{BOARD_DATE}")
        row = _proposed_rows(plain).first
        expect(row.get_by_label(re.compile(r"reason for recommendation"))).to_be_visible()
        _reject(plain, row, "no target expression in this tumour (decided without JS)")
        expect(plain.get_by_role("status")).to_be_visible()
        assert _proposed_rows(plain).count() == n_others - 1
        plain.context.close()
        page.reload()

    # the others rejected with a reason, the field shown only for 'reject'
    while _proposed_rows(page).count():
        row = _proposed_rows(page).first
        expect(row.locator("[data-reason]")).to_be_hidden()
        _reject(page, row, "lower priority than T-DXd")
    page.goto(f"/board/{BOARD_DATE}")
    expect(page.get_by_text("still proposed")).to_have_count(0)
    _shoot(page, "board-session-open")

    # sign-off asks for confirmation: cancelling keeps the session open
    sign_off = page.get_by_role("button", name="Sign off the session")
    page.once("dialog", lambda dialog: dialog.dismiss())
    sign_off.click()
    expect(page.get_by_role("heading", name="Signed", exact=True)).to_have_count(0)
    expect(sign_off).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign off the session").click()
    expect(page.get_by_role("heading", name="Signed", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign off the session")).to_have_count(0)
    _shoot(page, "board-session-signed")
    link = page.locator("section[aria-labelledby=signed-h]").get_by_role(
        "link", name=re.compile(r"version 1"))
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(rf"/patients/{PATIENT}/signed/1\.html"))
    assert TDXD.search(page.content()), "the signed report does not name the accepted therapy"

    # follow-up: the previous line, the guided T-DXd line, RECIST baseline and follow-up
    page.goto(f"/patients/{PATIENT}/followup")
    line_form = page.locator("section[aria-labelledby=add-line-h] form")
    line_form.get_by_label("Line number").fill("1")
    line_form.get_by_label("Regimen").fill("VDC/IE")
    line_form.get_by_label("Agents").fill("vincristine; doxorubicin; cyclophosphamide")
    line_form.get_by_label("Modality").select_option("chemotherapy")
    line_form.get_by_label("Intent").select_option("palliative")
    line_form.get_by_label("Start").fill("2025-01-01")
    line_form.get_by_label("Stop", exact=True).fill("2025-05-01")
    line_form.get_by_label("Stop reason").select_option("progression")
    line_form.get_by_label("Progression on this line").fill("2025-05-01")
    line_form.get_by_role("button", name="Record line").click()
    page.wait_for_url(re.compile(r"message="))
    expect(page.locator("#lines tbody tr")).to_have_count(1)

    line_form = page.locator("section[aria-labelledby=add-line-h] form")
    line_form.get_by_label("Line number").fill("2")
    line_form.get_by_label("Regimen").fill("trastuzumab deruxtecan")
    line_form.get_by_label("Agents").fill("trastuzumab deruxtecan")
    line_form.get_by_label("Modality").select_option("antibody_drug_conjugate")
    line_form.get_by_label("Intent").select_option("palliative")
    line_form.get_by_label("Start").fill("2025-05-15")
    line_form.get_by_label("Stop", exact=True).fill("2026-01-15")
    line_form.get_by_label("Stop reason").select_option("progression")
    line_form.get_by_label("Progression on this line").fill("2026-01-15")
    linked = line_form.get_by_label("Implements recommendation")
    option = linked.locator("option").filter(has_text=TDXD)
    expect(option).to_have_count(1)
    linked.select_option(option.get_attribute("value"))
    line_form.get_by_label(re.compile("MTB-guided")).check()
    line_form.get_by_role("button", name="Record line").click()
    page.wait_for_url(re.compile(r"message="))
    expect(page.get_by_role("status")).to_contain_text("implemented")

    for date, sizes in (("2025-05-14", (52, 30)), ("2025-08-14", (30, 18))):
        recist = page.locator("section[aria-labelledby=add-recist-h] form")
        recist.get_by_label("Assessment date").fill(date)
        recist.get_by_label("Line number").fill("2")
        for i, (site, mm) in enumerate(zip(("liver", "peritoneum"), sizes, strict=True)):
            recist.get_by_label(f"lesion {i + 1}", exact=True).fill(f"L{i + 1}")
            recist.get_by_label(f"site of lesion {i + 1}").fill(site)
            recist.get_by_label(f"diameter of lesion {i + 1}").fill(str(mm))
        recist.get_by_role("button", name="Record assessment").click()
        page.wait_for_url(re.compile(r"message="))
    rows = page.locator("#recist tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("PR")

    ratio_row = page.locator("#pfs-ratios tbody tr").filter(has=page.locator("td", has_text="2"))
    expect(ratio_row.first).to_be_visible()
    ratio = float(ratio_row.first.locator("td").nth(4).inner_text())
    assert ratio > 1.3, ratio
    img = page.get_by_alt_text(re.compile("Timeline of"))
    assert _wait_for_image(img) > 0, "the follow-up timeline did not load"
    _shoot(page, "followup")

    page.goto(f"/patients/{PATIENT}")
    tdxd = page.locator("section[aria-labelledby=h-recommendations] tbody tr").filter(
        has_text=TDXD)
    expect(tdxd.locator("td").nth(6)).to_contain_text("implemented")
    page.context.close()


def test_viewer_sees_no_decision_forms(browser: Any, server: str) -> None:
    expect = sync_api.expect
    page = _new_page(browser, server)
    _sign_in(page, "viewer")
    page.goto("/board")
    expect(page.get_by_role("button", name="Create session")).to_have_count(0)
    page.goto(f"/board/{BOARD_DATE}")
    expect(page.locator(f"#patient-{PATIENT}")).to_contain_text(TDXD)
    expect(page.locator("form[data-decision]")).to_have_count(0)
    expect(page.get_by_role("button", name="Record")).to_have_count(0)
    page.goto(f"/patients/{PATIENT}/followup")
    expect(page.get_by_role("button", name="Record line")).to_have_count(0)

    # signing out returns to the sign-in page, and the pages ask to sign in again
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/patients")
    page.wait_for_url(re.compile(r"/login"))
    page.context.close()


def test_cohort_and_audit_pages(browser: Any, server: str) -> None:
    expect = sync_api.expect
    page = _new_page(browser, server)
    _sign_in(page, "admin")
    page.goto("/cohort")
    expect(page.get_by_role("heading", name="Cohort", level=1)).to_be_visible()
    for img in page.locator("img").all():
        assert _wait_for_image(img) > 0, img.get_attribute("src")
    _shoot(page, "cohort")
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit tbody")).to_contain_text("board")
    _shoot(page, "admin-audit")
    page.context.close()

"""The operator console in a real browser: headless Chromium (Debian's package, never a downloaded
one) driven by Playwright, against a live server of the app.

- An operator opens the queue of dispute cases from the dashboard, opens a case with evidence,
  downloads the evidence, is refused a split that does not add up (the typed amounts stay), and
  resolves it by a split. The time from opening the queue to the resolved split is printed.
- The parties settle a case between themselves through the API (real HTTP to the live server),
  and the operator's browser then shows the case settled.

Screenshots go to artifacts/ (CONSOLE_SCREENSHOTS=docs/img to refresh the operators' guide).
"""

import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Group

from escrow import services
from escrow.api.tokens import issue_tokens
from escrow.models import Dispute, Transaction
from tests import builders
from tests.factories import UserFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "operator passphrase for the browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]
# A tiny but real PNG (1×1, red): what a party would upload as a screenshot.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cf"
                    "c000000301010018dd8db00000000049454e44ae426082")


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def shots():
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or Path(settings.BASE_DIR) / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


def an_operator():
    operator = UserFactory(is_staff=True, email="ops@example.com")
    operator.set_password(PASSWORD)
    operator.save()
    operator.groups.add(Group.objects.get(name="Operators"))
    return operator


def log_in(page, url, operator):
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", operator.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.slow
def test_an_operator_resolves_a_case_with_evidence_by_split(live_server, committed_db, chromium, storage, shots):
    from django.core.files.uploadedfile import SimpleUploadedFile

    operator = an_operator()
    project = builders.delivered(amounts=("1000.00", "500.00"), fee_bearer="split", title="Logo and brand book",
                                 buyer=UserFactory(email="amina@buyer.example"),
                                 seller=UserFactory(email="kofi@studio.example"))
    milestone = project.milestones.get(order_index=0)
    services.milestone_dispute(milestone=milestone, actor=project.buyer,
                               reason="The logo files are missing from the delivery.")
    dispute = Dispute.objects.get(milestone=milestone)
    services.dispute_evidence_add(dispute=dispute, actor=project.buyer, description="the delivered folder",
                                  upload=SimpleUploadedFile("delivered-folder.png", PNG, content_type="image/png"))
    services.dispute_message_post(dispute=dispute, actor=project.seller,
                                  body="The vector files were sent by e-mail; the PNGs are in the folder.")
    other = builders.disputed(amounts=("250.00",), title="Landing page copy")  # a second case in the queue
    assert other

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database calls
    # while one runs, so the browser part only talks HTTP to the live server.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        log_in(page, live_server.url, operator)
        assert page.locator("#open-disputes").inner_text() == "2"  # the dashboard

        started = time.perf_counter()
        page.click("#open-disputes")  # the queue
        page.wait_for_selector("#result_list")
        page.screenshot(path=str(shots / "case-queue.png"))
        page.click("#result_list a:has-text('Logo and brand book')")
        assert page.locator("#frozen").inner_text() == "1012.50 USD"
        with page.expect_download() as download:
            page.click("#evidence a:has-text('delivered-folder.png')")
        downloaded = Path(download.value.path()).read_bytes()
        page.screenshot(path=str(shots / "case-page.png"), full_page=True)

        page.check("#id_resolve-outcome_2")  # split (prefilled: everything to the seller)
        page.fill("#id_resolve-seller_amount", "600.00")
        page.fill("#id_resolve-buyer_amount", "400.00")
        page.fill("#id_resolve-note", "The PNGs were delivered, the vector files not: 60/40.")
        page.click("input[name=resolve]")
        refused = page.locator("#resolve-refused").inner_text()
        kept = (page.input_value("#id_resolve-seller_amount"), page.input_value("#id_resolve-buyer_amount"),
                page.input_value("#id_resolve-note"))
        page.locator("#case-resolve").screenshot(path=str(shots / "case-refused-split.png"))
        page.fill("#id_resolve-seller_amount", "612.50")  # the buyer's 12.50 of commission goes with the seller's part
        page.click("input[name=resolve]")
        resolved = page.locator("#case-summary h2").inner_text()
        elapsed = time.perf_counter() - started

        page.screenshot(path=str(shots / "case-resolved.png"))
        browser.close()

    print(f"\noperator time, queue opened → split resolved (one refused attempt included): {elapsed:.2f} s")
    assert downloaded == PNG
    assert "1012.50" in refused
    assert kept == ("600.00", "400.00", "The PNGs were delivered, the vector files not: 60/40.")
    assert resolved == "Case: resolved — split"
    dispute.refresh_from_db()
    assert (dispute.outcome, dispute.seller_amount, dispute.buyer_amount) == ("split", Decimal("612.50"), Decimal("400.00"))
    rows = {(t, str(a)) for t, a in Transaction.objects.filter(project=project, milestone=milestone)
            .exclude(transaction_type="escrow_hold").values_list("transaction_type", "amount")}
    assert ("refund", "400.00") in rows and any(t == "commission" for t, _ in rows)
    assert (shots / "case-page.png").stat().st_size > 10_000


@pytest.mark.slow
def test_the_parties_settle_through_the_api_and_the_console_shows_it(live_server, committed_db, chromium, shots):
    operator = an_operator()
    project = builders.disputed(amounts=("800.00",), title="Mobile app prototype")
    dispute = Dispute.objects.get(project=project)
    buyer = {"Authorization": f"Bearer {issue_tokens(project.buyer)['access']}"}
    seller = {"Authorization": f"Bearer {issue_tokens(project.seller)['access']}"}
    base = f"{live_server.url}/api/v1/disputes/{dispute.pk}/offers/"

    offer = requests.post(base, json={"seller_amount": "500.00", "buyer_amount": "300.00", "note": "half done"},
                          headers=seller, timeout=30)
    assert offer.status_code == 201, offer.text
    accepted = requests.post(f"{base}{offer.json()['id']}/accept/", headers=buyer, timeout=30)
    assert accepted.status_code == 200, accepted.text

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        log_in(page, live_server.url, operator)
        open_count = page.locator("#open-disputes").inner_text()
        page.goto(f"{live_server.url}/admin/escrow/dispute/?status=resolved")
        listed = page.locator("#result_list").inner_text()
        page.click("#result_list a:has-text('Mobile app prototype')")
        summary = page.locator("#case-summary").inner_text()
        offers = page.locator("#case-offers").inner_text()
        can_resolve = page.locator("#resolve-form").count()
        page.screenshot(path=str(shots / "case-settled.png"))
        browser.close()

    assert open_count == "0"
    assert "settled" in listed.lower()
    assert "Case: resolved — settled" in summary and "500.00 to the seller, 300.00 to the buyer" in summary
    assert "accepted by " + project.buyer.email in offers
    assert can_resolve == 0

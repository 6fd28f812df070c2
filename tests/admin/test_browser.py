"""An operator resolves a dispute by a split, in a real browser: headless Chromium (Debian's
package, never a downloaded one) driven by Playwright, against a live server of the app.

The screenshot of the resolved project is saved to artifacts/resolved-project.png.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from escrow.models import Transaction
from tests import builders
from tests.factories import UserFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
PASSWORD = "operator passphrase for the browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    return CHROMIUM


@pytest.mark.slow
def test_an_operator_resolves_a_dispute_by_split(live_server, committed_db, chromium):
    operator = UserFactory(is_staff=True, email="ops@example.com")
    operator.set_password(PASSWORD)
    operator.save()
    operator.groups.add(Group.objects.get(name="Operators"))
    project = builders.disputed()
    ARTIFACTS.mkdir(exist_ok=True)

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses database calls
    # while one runs, so the browser part only talks HTTP to the live server.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", operator.email)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")

        assert page.locator("#open-disputes").inner_text() == "1"  # the dashboard
        page.click("#open-disputes")
        page.click(f"input.action-select[value='{project.pk}']")
        page.select_option("select[name=action]", "resolve_dispute")
        page.click("button[name=index]")

        page.check("input[name=outcome][value=split]")  # the confirmation page
        page.fill("#id_seller_amount", "600.00")
        page.fill("#id_buyer_amount", "400.00")
        page.fill("#id_note", "Design delivered, build not: 60/40 by agreement.")
        page.click("input[type=submit][value='Resolve dispute']")
        assert "dispute resolved" in page.locator("ul.messagelist").inner_text()

        page.goto(f"{live_server.url}/admin/escrow/project/{project.pk}/change/")
        ledger = page.locator("#transactions-group").inner_text().lower()
        trail = page.locator("#events-group").inner_text().lower()
        page.screenshot(path=str(ARTIFACTS / "resolved-project.png"), full_page=True)
        browser.close()

    assert "escrow release" in ledger and "refund" in ledger and "commission" in ledger
    assert "resolve" in trail
    assert (ARTIFACTS / "resolved-project.png").stat().st_size > 10_000
    rows = set(Transaction.objects.filter(project=project).values_list("transaction_type", "amount"))
    assert {("escrow_release", 585), ("commission", 15), ("refund", 400)} <= {(t, int(a)) for t, a in rows}

"""In Chromium: a relationship manager works in Chinese, a branch manager approves, another manager is kept out."""

from __future__ import annotations

import re

import pytest

from api.workspace import PASSWORD

pytestmark = pytest.mark.slow


def login(browser, base: str, username: str):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/dashboard")
    assert page.url.startswith(f"{base}/login")            # not logged in: to the login page
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    return ctx, page, errors


def test_manager_journey(server, browser, shot):
    base, _ = server
    ctx, page, errors = login(browser, base, "rm1")
    # the dashboard in Chinese, with every chart drawn by plotly.js (no CSP violation)
    assert "仪表盘" in page.inner_text("h1") and "我的客户（RM00001）" in page.inner_text("h1")
    page.wait_for_selector("#chart-pyramid[data-drawn='1'] .main-svg")
    assert page.locator(".chart[data-drawn='1']").count() == 6
    assert page.locator("[data-kpi=customers] .k-value").inner_text() == "60"
    shot(page, "01-dashboard-rm-zh")
    # the customer list holds only rm1's customers; open the first
    page.click("header nav a[href='/customers']")
    page.wait_for_url(f"{base}/customers")
    rows = page.locator("[data-testid=customer-table] tbody tr")
    assert rows.count() == 50 and set(page.locator("[data-testid=customer-table] tbody td:nth-child(9)")
                                       .all_inner_texts()) == {"RM00001"}
    shot(page, "02-customers-rm-zh")
    first = page.locator("[data-testid=customer-table] tbody tr >> nth=0 >> a")
    cid = first.inner_text()
    first.click()
    page.wait_for_url(f"{base}/customers/{cid}")
    assert "*" in page.locator("[data-field=phone]").inner_text()           # masked
    assert page.locator("[data-testid=why]").inner_text().startswith(f"客户 {cid} 在 ")
    page.wait_for_selector("#chart-history[data-drawn='1']")
    shot(page, "03-customer-360-rm-zh")
    # request an override through the form
    form = page.locator("[data-testid=override-form]")
    form.locator("select[name=kind]").select_option("pin")
    form.locator("select[name=tier]").select_option("platinum")
    form.locator("input[name=reason]").fill("重要客户一户一策")
    form.locator("button").click()
    page.wait_for_selector("[data-testid=notice]")
    assert "已提交人工调整申请" in page.inner_text("[data-testid=notice]")
    assert "待审批" in page.inner_text("[data-testid=customer-overrides]")
    shot(page, "04-override-requested")
    assert errors == [], errors
    ctx.close()

    # the branch manager approves it
    ctx, page, errors = login(browser, base, "bm1")
    page.goto(f"{base}/overrides")
    row = page.locator("[data-testid=pending] tr", has_text=cid)
    assert row.count() == 1
    shot(page, "05-overrides-bm-pending")
    row.locator("button.primary").click()
    page.wait_for_selector("[data-testid=notice]")
    assert "已批准" in page.inner_text("[data-testid=notice]") and page.locator("[data-testid=pending] tr",
                                                                            has_text=cid).count() == 0
    shot(page, "06-overrides-bm-approved")
    page.goto(f"{base}/lang/en?next=/dashboard")
    assert "Dashboard as of" in page.inner_text("h1")
    page.wait_for_selector("#chart-migration[data-drawn='1']")
    shot(page, "07-dashboard-bm-en")
    page.goto(f"{base}/runs")
    shot(page, "08-runs-bm-en")
    assert errors == [], errors
    ctx.close()

    # a manager of another branch cannot reach that customer, by URL or by search
    ctx, page, errors = login(browser, base, "rm3")
    resp = page.goto(f"{base}/customers/{cid}")
    assert resp.status == 404 and cid in page.inner_text("[data-testid=error-message]")
    shot(page, "09-other-manager-404")
    page.goto(f"{base}/customers?q={cid}")
    assert "没有找到" in page.inner_text("[data-testid=customer-table]")
    resp = page.goto(f"{base}/api/v1/customers/{cid}")
    assert resp.status == 404
    ctx.close()


def test_admin_pages_en(server, browser, shot):
    base, _ = server
    ctx, page, errors = login(browser, base, "analyst1")
    page.goto(f"{base}/lang/en?next=/runs")
    assert page.locator("table.data").count() == 2                 # runs and imports
    shot(page, "10-runs-analyst-en")
    page.goto(f"{base}/candidates")
    shot(page, "11-candidates-analyst-en")
    assert errors == [], errors
    ctx.close()

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
    base, root = server
    ctx, page, errors = login(browser, base, "rm1")
    # the dashboard in Chinese, with every chart drawn by plotly.js (no CSP violation)
    assert "仪表盘" in page.inner_text("h1") and "我的客户（RM00001）" in page.inner_text("h1")
    page.wait_for_selector("#chart-pyramid[data-drawn='1'] .main-svg")
    page.wait_for_selector("#chart-cohorts[data-drawn='1'] .main-svg")
    assert page.locator(".chart[data-drawn='1']").count() == 7          # with the cohort retention
    assert page.locator("[data-kpi=customers] .k-value").inner_text() == "60"
    shot(page, "01-dashboard-rm-zh")
    # the inbox: complete the first overdue task with an outcome
    page.click("header nav a[href='/inbox']")
    page.wait_for_url(f"{base}/inbox")
    assert "已逾期" in page.inner_text("main")
    row = page.locator("[data-testid=overdue] tr[data-task] >> nth=0")
    tid = row.get_attribute("data-task")
    assert row.locator(".message").inner_text().strip()                     # the rendered message
    shot(page, "02a-inbox-rm-zh")
    row.locator("select[name=outcome]").select_option("reached")
    row.locator("input[name=note]").fill("电话回访")
    row.locator("button").click()
    page.wait_for_selector("[data-testid=notice]")
    assert f"任务 {tid} 已完成" in page.inner_text("[data-testid=notice]")
    assert page.locator(f"tr[data-task='{tid}']").count() == 0
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
    form.locator("input[name=starts_on]").fill("2024-11-01")          # from the next period of the data
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
    page.goto(f"{base}/inbox")
    shot(page, "06a-inbox-bm-zh")
    page.goto(f"{base}/lang/en?next=/dashboard")
    assert "Dashboard as of" in page.inner_text("h1")
    page.wait_for_selector("#chart-migration[data-drawn='1']")
    shot(page, "07-dashboard-bm-en")
    page.goto(f"{base}/runs")
    shot(page, "08-runs-bm-en")
    assert errors == [], errors
    ctx.close()

    # the next run applies the approved pin: the customer page shows the tier
    from datetime import date

    from tierwise.app.run import run_evaluation
    from tierwise.app.workspace import open_workspace
    ws = open_workspace(root)
    run_evaluation(ws, date(2024, 11, 30), actor="test")
    ctx, page, errors = login(browser, base, "rm1")
    page.goto(f"{base}/customers/{cid}")
    assert page.inner_text("[data-testid=tier]") == "白金卡"
    assert "2024-11-30" in page.inner_text("h1")
    shot(page, "06b-customer-after-run-rm-zh")
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
    # segment explorer: summary, drill into one segment, export link
    page.goto(f"{base}/segments?by=lifecycle")
    page.wait_for_selector("#chart-segments[data-drawn='1'] .main-svg")
    first = page.locator("[data-testid=segment-summary] tbody tr >> nth=0")
    n = int(first.locator("td:nth-child(2)").inner_text().replace(",", ""))
    first.locator("a").click()
    page.wait_for_selector("[data-testid=segment-customers]")
    assert f"{n} in total" in page.inner_text("main")
    assert "/api/v1/exports/customers.csv?segment=lifecycle" in page.get_attribute("[data-testid=segment-export]", "href")
    shot(page, "12-segments-analyst-en")
    # campaigns: create with a control group, start, see the groups and uplift table
    page.goto(f"{base}/campaigns")
    form = page.locator("[data-testid=campaign-form]")
    form.locator("input[name=name]").fill("Gold push")
    form.locator("input[name=starts_on]").fill("2024-10-01")
    form.locator("input[name=ends_on]").fill("2024-12-31")
    form.locator("input[name=control_share]").fill("0.3")
    form.locator("button").click()
    page.wait_for_selector("[data-testid=start]")
    page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=groups]")
    assert "treated" in page.inner_text("[data-testid=groups]")
    assert page.locator("[data-testid=uplift-overall] tr[data-metric]").count() == 5
    shot(page, "13-campaign-analyst-en")
    page.goto(f"{base}/campaigns")
    shot(page, "14-campaigns-analyst-en")
    # policy what-if: lower the gold entry threshold
    page.goto(f"{base}/whatif")
    page.fill("input[name='entry:gold']", "20000")
    page.fill("input[name='maintain:gold']", "15000")
    page.click("[data-testid=thresholds-form] button")
    page.wait_for_selector("#chart-whatif[data-drawn='1'] .main-svg")
    assert int(page.inner_text("[data-kpi=upgrades] .k-value").replace(",", "")) > 0
    shot(page, "15-whatif-analyst-en")
    assert errors == [], errors
    ctx.close()


def test_admin_audit_page(server, browser, shot):
    base, _ = server
    ctx, page, errors = login(browser, base, "admin1")
    page.goto(f"{base}/admin/audit")
    assert "哈希链完整" in page.inner_text("[data-testid=chain]")
    page.select_option("select[name=action]", "user.add")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r".*action=user.add.*"))
    actions = set(page.locator("[data-testid=audit-table] tbody td:nth-child(4)").all_inner_texts())
    assert actions == {"user.add"}
    shot(page, "16-audit-admin-zh")
    assert errors == [], errors
    ctx.close()
    # other roles are refused
    ctx, page, _ = login(browser, base, "analyst1")
    assert page.goto(f"{base}/admin/audit").status == 403
    ctx.close()

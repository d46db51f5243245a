"""The dashboard: its copy of the marts, its queries, and the Streamlit app in a real browser.

The browser tests serve the app with `python -m jump_platform.runner.dashboard` (what `make dashboard` runs) on
the session's lakehouse, whose `refresh` run also wrote the dashboard's copy, and drive Debian's
Chromium through Playwright. Each page is saved as a PNG under `test-artifacts/dashboard/` (or
`$JUMP_SCREENSHOT_DIR`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from polars.testing import assert_frame_equal

from jump_platform import settings
from jump_platform.dashboard import data
from jump_platform.dashboard.snapshot import MARTS, write_snapshot
from jump_platform.defs.dashboard.assets import dashboard_marts
from jump_platform.defs.lakehouse.resources import PUBLISHED
from jump_platform.local_services.postgres import free_port
from jump_platform.sql import qualified
from jump_platform_tests.conftest import AS_OF

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("JUMP_SCREENSHOT_DIR") or settings.PROJECT_ROOT / "test-artifacts" / "dashboard")
PAGES = {
    "overview": "/",
    "turnover": "/turnover",
    "care": "/care",
    "nps": "/nps",
    "cohorts": "/cohorts",
    "movements": "/movements",
    "freelancers": "/freelancers",
}
# Set in the page before it loads: whether "Page not found" ever showed, even for a moment (Streamlit
# showed it at /turnover, then ran the default page under it).
SEEN_PAGE_NOT_FOUND = """
window.__pageNotFound = false;
new MutationObserver(() => {
  if (document.body && document.body.innerText.includes("Page not found")) window.__pageNotFound = true;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def lakehouse_file(data_dir: Path) -> Path:
    return data_dir / "lakehouse" / "lakehouse.duckdb"


def snapshot_file(data_dir: Path) -> Path:
    return data_dir / "dashboard" / "dashboard.duckdb"


def read(database: Path, sql: str, parameters: list | None = None) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, parameters or []).pl()


# --- the copy of the marts ---------------------------------------------------------------------------


def test_the_refresh_run_leaves_a_copy_equal_to_the_marts(lakehouse: Path) -> None:
    for mart in MARTS:
        assert_frame_equal(
            read(snapshot_file(lakehouse), f"select * from {qualified('marts', mart)}"),
            read(lakehouse_file(lakehouse), f"select * from {qualified('marts', mart)}"),
            check_exact=True,
        )
    about = data.about(snapshot_file(lakehouse))
    assert about.as_of_date == AS_OF
    assert about.published_at <= about.refreshed_at


def test_a_failed_copy_leaves_the_previous_one_whole(lakehouse: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "dashboard.duckdb"
    write_snapshot(lakehouse_file(lakehouse), snapshot, dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    broken = tmp_path / "broken.duckdb"
    with duckdb.connect(str(broken)) as con:
        con.execute("create schema marts; create table marts.kpi__monthly_turnover (month date, amount decimal(18, 2))")
    with pytest.raises(duckdb.CatalogException, match="kpi__monthly_turnover_by_entity"):
        write_snapshot(broken, snapshot, dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    assert data.about(snapshot).published_at == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    assert len(data.months(snapshot)) > 12
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.duckdb", "dashboard.duckdb"]


def test_the_dashboard_asset_copies_the_published_lakehouse_and_dates_it_by_the_last_publish(
    lakehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    lakehouse_file(data_dir).parent.mkdir(parents=True)
    shutil.copyfile(lakehouse_file(lakehouse), lakehouse_file(data_dir))
    # The file's own time is long ago: the date must come from the recorded publish.
    os.utime(lakehouse_file(data_dir), (1_000_000, 1_000_000))
    monkeypatch.setenv("JUMP_DATA_DIR", str(data_dir))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    instance = dg.DagsterInstance.ephemeral()
    built_at = time.time()
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=PUBLISHED))
    result = dg.materialize([dashboard_marts], instance=instance)
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["rows_per_mart"].value["kpi__monthly_turnover"] == len(data.months(snapshot_file(data_dir)))
    published = data.about(snapshot_file(data_dir)).published_at
    assert abs(published.timestamp() - built_at) < 60  # the recorded publish, not the file's own time
    copied = instance.get_latest_materialization_event(dg.AssetKey(["dashboard", "marts"]))
    assert published.timestamp() <= copied.timestamp


def test_make_dashboard_refreshes_a_copy_missing_or_older_than_the_lakehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jump_platform.runner.dashboard import copy_is_stale

    monkeypatch.setenv("JUMP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JUMP_DUCKDB_PATH", raising=False)
    assert not copy_is_stale()  # no lakehouse: nothing to copy
    lakehouse_file(tmp_path).parent.mkdir(parents=True)
    lakehouse_file(tmp_path).write_bytes(b"")
    assert copy_is_stale()  # no copy yet
    snapshot_file(tmp_path).parent.mkdir(parents=True)
    snapshot_file(tmp_path).write_bytes(b"")
    os.utime(lakehouse_file(tmp_path), (1_000_000, 1_000_000))
    assert not copy_is_stale()
    os.utime(lakehouse_file(tmp_path), (4_000_000_000, 4_000_000_000))
    assert copy_is_stale()  # the lakehouse was published after the copy


# --- the queries -------------------------------------------------------------------------------------


def changed_copy(lakehouse: Path, snapshot: Path, *statements: str) -> None:
    """A dashboard copy of the session's marts at `snapshot`, then changed by `statements`."""
    write_snapshot(lakehouse_file(lakehouse), snapshot, dt.datetime.now(dt.UTC))
    with duckdb.connect(str(snapshot)) as con:
        for statement in statements:
            con.execute(statement)


def test_the_emptied_month_shows_as_zero(lakehouse: Path, lakehouse_with_empty_month: Path) -> None:
    def monthly(data_dir: Path) -> pl.DataFrame:
        months = data.months(snapshot_file(data_dir))
        frame = data.monthly_turnover(snapshot_file(data_dir), months[0], months[-1])
        assert frame["month"].to_list() == months  # no gap
        return frame

    both = monthly(lakehouse).join(monthly(lakehouse_with_empty_month), on="month", suffix="_emptied")
    [emptied] = both.filter((pl.col("amount_emptied") == 0) & (pl.col("amount") > 0)).rows()
    assert emptied[0] not in (both["month"].min(), both["month"].max())


def test_search_by_name_ignores_case_accents_and_order(lakehouse: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "dashboard.duckdb"
    changed_copy(
        lakehouse,
        snapshot,
        "insert into marts.kpi__freelancer_cumulative_turnover values "
        "('Zzyzx', 'Émilienne', date '2020-01-01', null, 'green', date '2020-01-01', 10.00), "
        "('100%', 'Pure', date '2020-01-01', null, 'blue', date '2020-01-01', 1.00)",
    )
    for text in ("emilienne zz", "ZZYZX", "Émilienne Zzyzx", "zzyzx emilienne"):
        assert data.find_freelancers(snapshot, text, ["blue", "green"]).rows() == [("Zzyzx", "Émilienne")], text
    assert data.find_freelancers(snapshot, "zzyzx", ["blue"]).is_empty()
    assert data.find_freelancers(snapshot, "100%", ["blue"]).rows() == [("100%", "Pure")]
    assert data.find_freelancers(snapshot, "0%P", ["blue"]).is_empty()  # % is a character, not a wildcard


# --- the app in a browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard(lakehouse: Path) -> Iterator[str]:
    """The app served as `make dashboard` serves it, on the session's lakehouse; yields its URL."""
    with serve(lakehouse) as url:
        yield url


@contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """Serve the app with `python -m jump_platform.runner.dashboard` on `data_dir`; yields its URL."""
    port = free_port()
    env = {**os.environ, "JUMP_DATA_DIR": str(data_dir)}
    env.pop("JUMP_DUCKDB_PATH", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "jump_platform.runner.dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=settings.PROJECT_ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"The dashboard exited: {server.stdout.read()}") from None
                time.sleep(0.5)
        else:
            raise RuntimeError("The dashboard did not answer its health check within 60 s.")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    context.add_init_script(SEEN_PAGE_NOT_FOUND)
    page = context.new_page()
    yield page
    context.close()


def open_page(page: Page, url: str) -> None:
    """Load `url` and wait until Streamlit has drawn the page and its charts."""
    page.goto(url)
    page.wait_for_selector("text=Figures as of", timeout=60_000)
    # Streamlit draws as the script runs: wait until the run has ended (its own e2e tests' signal),
    # not only until the status widget is gone, which it is too before the run has shown it.
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.wait_for_load_state("networkidle")


def assert_no_error(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator('[data-testid="stException"]').all_inner_texts()
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert page.evaluate("window.__pageNotFound") is False, "Page not found showed while the page loaded"
    assert "Traceback" not in page.locator("body").inner_text()


def figures_table(page: Page, label: str) -> list[list[str]]:
    """Open the expander `label` and read its table: the header row, then each row (index first)."""
    page.get_by_text(label, exact=True).click()
    table = page.locator('[data-testid="stExpander"]', has_text=label).locator("table")
    table.wait_for()
    header = table.locator("thead th").all_inner_texts()
    rows = [row.locator("th, td").all_inner_texts() for row in table.locator("tbody tr").all()]
    return [header, *rows]


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace(" %", "")) if text else None


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_without_error_and_is_saved_as_a_screenshot(dashboard: str, page: Page, name: str) -> None:
    open_page(page, dashboard + PAGES[name])
    if name in ("overview", "care"):
        # no chart on these pages: figures and lists
        assert_no_error(page)
        assert page.get_by_text(f"Figures as of {AS_OF:%Y-%m-%d}").count() == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        return
    if name == "freelancers":
        page.get_by_label("Search a freelancer by name").fill("ma")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Figures: latest cumulative turnover per contract", timeout=60_000)
    assert_no_error(page)
    assert page.get_by_text(f"Figures as of {AS_OF:%Y-%m-%d}").count() == 1
    assert page.get_by_text("lakehouse last published").count() == 1
    charts = page.locator(".vega-embed svg, .vega-embed canvas")
    charts.first.wait_for(timeout=30_000)  # vega-embed draws after the page is built
    assert charts.count() == page.locator('[data-testid="stVegaLiteChart"]').count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.slow
def test_turnover_figures_for_a_few_months_equal_the_marts(dashboard: str, page: Page, lakehouse: Path) -> None:
    open_page(page, f"{dashboard}/turnover?from=2024-01&to=2024-04")
    assert_no_error(page)
    [header, *rows] = figures_table(page, "Figures: monthly turnover")
    assert header == ["Month", "Turnover (€)", "Issued in advance (€)"]
    marts = read(
        lakehouse_file(lakehouse),
        "select strftime(month, '%Y-%m') as month, amount, scheduled_amount from marts.kpi__monthly_turnover "
        "where month between date '2024-01-01' and date '2024-04-01' order by month",
    )
    assert [(month, amount(total), amount(scheduled)) for month, total, scheduled in rows] == marts.rows()

    [header, *rows] = figures_table(page, "Figures: turnover by entity")
    assert header[:4] == ["Month", "Entity", "Turnover (€)", "Previous month (€)"]
    marts = read(
        lakehouse_file(lakehouse),
        "select strftime(month, '%Y-%m'), entity, turnover, previous_month_turnover, turnover_change_pct "
        "from marts.kpi__monthly_turnover_by_entity "
        "where month between date '2024-01-01' and date '2024-04-01' order by month, entity",
    )
    shown = [(row[0], row[1], amount(row[2]), amount(row[3]), amount(row[4])) for row in rows]
    assert shown == marts.rows()


@pytest.mark.slow
def test_the_entity_filter_from_the_url_selects_the_movements_shown(dashboard: str, page: Page, lakehouse: Path) -> None:
    open_page(page, f"{dashboard}/movements?entity=green&from=2023-06&to=2023-09")
    assert_no_error(page)
    [header, *rows] = figures_table(page, "Figures: movements")
    assert header == ["Month", "Entity", "Arrivals", "Departures", "Active at month end"]
    marts = read(
        lakehouse_file(lakehouse),
        "select strftime(month, '%Y-%m'), entity, joined, \"left\", active_at_month_end "
        "from marts.kpi__freelancer_movements where entity = 'green' "
        "and month between date '2023-06-01' and date '2023-09-01' order by month",
    )
    assert [(row[0], row[1], *map(int, row[2:])) for row in rows] == marts.rows()


@pytest.mark.slow
def test_nps_figures_equal_the_mart(dashboard: str, page: Page, lakehouse: Path) -> None:
    open_page(page, f"{dashboard}/nps")
    assert_no_error(page)
    [nps] = read(lakehouse_file(lakehouse), "select * from marts.kpi__nps").rows(named=True)
    # The page's header can be drawn before its metrics (seen on a loaded machine): wait for them.
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
    assert metrics[0].split() == ["NPS", f"{nps['nps']:+.2f}"]
    assert metrics[1].split() == ["Respondents", f"{nps['respondents']:,}"]
    [_header, *rows] = figures_table(page, "Figures: survey answers")
    assert [(row[0], int(row[1])) for row in rows] == [
        ("Promoters", nps["promoters"]),
        ("Passives", nps["passives"]),
        ("Detractors", nps["detractors"]),
    ]


@pytest.mark.slow
def test_searching_a_freelancer_shows_their_cumulative_turnover(dashboard: str, page: Page, lakehouse: Path) -> None:
    [(last_name, first_name)] = read(
        lakehouse_file(lakehouse),
        "select last_name, first_name from marts.kpi__freelancer_cumulative_turnover "
        "group by all having count(distinct job_contract_start_date) > 1 order by all limit 1",
    ).rows()
    open_page(page, f"{dashboard}/freelancers")
    page.get_by_label("Search a freelancer by name").fill(f"{first_name} {last_name}")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text={first_name} {last_name}", timeout=60_000)
    assert_no_error(page)
    marts = read(
        lakehouse_file(lakehouse),
        "select strftime(job_contract_start_date, '%Y-%m-%d'), max_by(cumulative_turnover, month) "
        "from marts.kpi__freelancer_cumulative_turnover where last_name = ? and first_name = ? "
        "group by job_contract_start_date order by 1",
        [last_name, first_name],
    )
    # The page opens on the top earner's figures: wait until the searched freelancer's replace them.
    deadline = time.monotonic() + 60
    while True:
        [header, *rows] = figures_table(page, "Figures: latest cumulative turnover per contract")
        # columns: contract (the index), entity, start, end, through, cumulative turnover
        found = [(row[2], amount(row[-1])) for row in rows]
        if found == marts.rows() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert header[-1] == "Cumulative turnover (€)"
    assert found == marts.rows()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "freelancer_search.png"))


@pytest.fixture(scope="module")
def data_with_invoices_issued_in_advance(lakehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dashboard copy of the session's marts plus the month after the as-of month, as the turnover
    reports give it when invoices are dated after the as-of date: only invoices issued in advance,
    and active freelancers null (not known yet). Returns its data folder (no lakehouse in it, so the
    dashboard serves the copy as it is)."""
    data_dir = tmp_path_factory.mktemp("dashboard_in_advance")
    changed_copy(
        lakehouse,
        snapshot_file(data_dir),
        "insert into marts.kpi__monthly_turnover by name "
        "select month + interval 1 month as month, 1234.50 as amount, 1234.50 as scheduled_amount "
        "from marts.lakehouse_as_of, (select max(month) as month from marts.kpi__monthly_turnover) "
        "where month = as_of_month",
        "insert into marts.kpi__monthly_turnover_by_entity by name "
        "select month + interval 1 month as month, entity, "
        "case entity when 'blue' then 1234.50 else 0 end as turnover, "
        "case entity when 'blue' then 2 else 0 end as invoice_count, "
        "null as active_freelancers, "
        "case entity when 'blue' then 1 else 0 end as invoicing_freelancers, "
        "turnover as previous_month_turnover, null as turnover_change_pct, "
        "case entity when 'blue' then 1234.50 else 0 end as scheduled_turnover "
        "from marts.kpi__monthly_turnover_by_entity where month = (select as_of_month from marts.lakehouse_as_of)",
    )
    return data_dir


@pytest.mark.slow
def test_months_after_the_as_of_month_show_invoices_issued_in_advance_and_unknown_actives(
    data_with_invoices_issued_in_advance: Path, page: Page
) -> None:
    as_of_month, next_month = f"{AS_OF:%Y-%m}", f"{(AS_OF.replace(day=1) + dt.timedelta(days=32)):%Y-%m}"
    with serve(data_with_invoices_issued_in_advance) as url:
        open_page(page, f"{url}/turnover?from={as_of_month}&to={next_month}")
        assert_no_error(page)
        # the headline month is the as-of month, the latest that has come, and it is in progress
        expect(page.get_by_text(f"Turnover in {as_of_month} so far (€)")).to_have_count(1, timeout=30_000)
        [header, *rows] = figures_table(page, "Figures: monthly turnover")
        assert header == ["Month", "Turnover (€)", "Issued in advance (€)"]
        assert rows[-1] == [next_month, "1,234.50", "1,234.50"]
        [header, *rows] = figures_table(page, "Figures: turnover by entity")
        active = header.index("Active freelancers")
        shown = {(row[0], row[1]): row for row in rows}
        assert shown[(next_month, "blue")][active] == shown[(next_month, "green")][active] == "–"
        assert shown[(next_month, "blue")][header.index("Issued in advance (€)")] == "1,234.50"
        assert int(shown[(as_of_month, "blue")][active]) > 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "turnover_after_the_as_of_month.png"))


def headline_metric(page: Page) -> object:
    """The Turnover page's headline metric (the second of its three)."""
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    return page.locator('[data-testid="stMetric"]').nth(1)


@pytest.mark.slow
def test_the_month_in_progress_is_labelled_and_not_compared_with_the_whole_month_before(
    dashboard: str, page: Page, lakehouse: Path
) -> None:
    # AS_OF is 2026-11-21: November is in progress
    open_page(page, f"{dashboard}/turnover")
    assert_no_error(page)
    metric = headline_metric(page)
    expect(metric.locator('[data-testid="stMetricLabel"]')).to_have_text(f"Turnover in {AS_OF:%Y-%m} so far (€)")
    assert metric.locator('[data-testid="stMetricDelta"]').count() == 0  # no comparison
    [amount_so_far] = read(
        lakehouse_file(lakehouse), "select amount from marts.kpi__monthly_turnover where month = ?", [AS_OF.replace(day=1)]
    )["amount"]
    assert metric.locator('[data-testid="stMetricValue"]').inner_text() == f"{amount_so_far:,.2f}"
    expect(page.get_by_text("Month in progress: 1–21 November, through the as-of date.", exact=False).first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "turnover_month_in_progress.png"))


@pytest.mark.slow
def test_a_whole_month_keeps_its_change_on_the_month_before(dashboard: str, page: Page, lakehouse: Path) -> None:
    open_page(page, f"{dashboard}/turnover?from=2026-01&to=2026-10")
    assert_no_error(page)
    metric = headline_metric(page)
    expect(metric.locator('[data-testid="stMetricLabel"]')).to_have_text("Turnover in 2026-10 (€)")
    september, october = read(
        lakehouse_file(lakehouse),
        "select amount from marts.kpi__monthly_turnover where month in ('2026-09-01', '2026-10-01') order by month",
    )["amount"]
    assert amount(metric.locator('[data-testid="stMetricDelta"]').inner_text().split()[-1]) == october - september


@pytest.mark.slow
def test_the_care_page_lists_the_freelancers_at_risk(dashboard: str, page: Page, lakehouse: Path) -> None:
    open_page(page, f"{dashboard}/care")
    assert_no_error(page)
    mart = read(
        lakehouse_file(lakehouse),
        f"select first_name || ' ' || last_name as name, email, coalesce(current_entity, 'none') as entity, "
        f"contract_status from marts.freelancer_health where is_at_risk order by {data.AT_RISK_ORDER}",
    )
    assert mart.height > 0
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').inner_text().split("\n")[-1] == f"{mart.height:,}"
    table = page.locator('[data-testid="stTable"] table')
    header = table.locator("thead th").all_inner_texts()
    assert header[:4] == ["Freelancer", "Email", "Entity", "Contract"]
    rows = [row.locator("th, td").all_inner_texts()[:4] for row in table.locator("tbody tr").all()]
    assert [tuple(row) for row in rows] == mart.head(100).rows()
    page.screenshot(path=str(SCREENSHOTS / "care_at_risk.png"))


@pytest.mark.slow
def test_pages_opened_by_their_address_never_show_page_not_found(dashboard: str, page: Page) -> None:
    for path in ("/turnover", "/care", "/nps"):
        open_page(page, dashboard + path)
        assert_no_error(page)


@pytest.mark.slow
def test_the_freelancers_page_opens_on_the_top_earner_before_a_name_is_typed(dashboard: str, page: Page, lakehouse: Path) -> None:
    [(last_name, first_name)] = read(
        lakehouse_file(lakehouse),
        "select last_name, first_name from marts.freelancer_health where turnover_last_12_months > 0 "
        "order by turnover_last_12_months desc, last_name, first_name limit 1",
    ).rows()
    open_page(page, f"{dashboard}/freelancers")
    assert_no_error(page)
    expect(page.get_by_role("heading", name=f"{first_name} {last_name}")).to_have_count(1, timeout=60_000)
    [header, *rows] = figures_table(page, "Figures: latest cumulative turnover per contract")
    assert header[-1] == "Cumulative turnover (€)" and rows

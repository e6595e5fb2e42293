"""The head-to-head bench (bench/users, issue 27): its figures on fixed inputs, and a
smoke run of its driver in Chromium against the stgo ``simple`` app and its floor.

The peers (Streamlit, NiceGUI) are not installed here: nothing below needs them.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.browser import chromium_path
from bench.users.__main__ import BEGIN, END, plan, write_doc
from bench.users.scenarios import SCENARIOS
from bench.users.stats import (
    Cell,
    UserResult,
    add_ratios,
    markdown,
    pass_bar,
    percentile,
    row,
    turns_markdown,
)

MB = 1_000_000


def test_percentile_interpolates_between_ranks() -> None:
    xs = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]
    assert percentile(xs, 50) == pytest.approx(5.5)
    assert percentile(xs, 95) == pytest.approx(9.55)
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 10.0
    assert percentile([42.0], 95) == 42.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="101"):
        percentile(xs, 101)


def _cell(framework: str, load: float, click: float, growth_mb: float, cpu: float,
          n: int = 4, failed: int = 0, scenario: str = "simple") -> Cell:
    users = [UserResult(load + i, [click + i]) for i in range(n - failed)]
    users += [UserResult(None, [], "timeout") for _ in range(failed)]
    return Cell(framework, scenario, users, rss_before=100 * MB,
                rss_peak=100 * MB + int(growth_mb * MB), cpu_seconds=cpu)


def test_row_counts_successes_times_memory_and_cpu() -> None:
    users = [UserResult(100.0, [10.0, 20.0]), UserResult(300.0, [30.0]),
             UserResult(500.0, [], "timeout"), UserResult(None, [], "timeout")]
    r = row(Cell("stgo", "dataframe", users, 50 * MB, 58 * MB, cpu_seconds=0.35))
    assert (r["n"], r["ok"], r["success"]) == (4, 2, 0.5)
    assert r["load_p50_ms"] == 300.0 and r["load_p95_ms"] == pytest.approx(480.0)
    assert r["click_p50_ms"] == 20.0 and r["click_p95_ms"] == pytest.approx(29.0)
    assert r["mb_per_user"] == pytest.approx(2.0) and r["growth_mb"] == pytest.approx(8.0)
    # 3 loads + 3 clicks = 6 actions for 0.35 s of server CPU
    assert r["cpu_ms_per_action"] == pytest.approx(350 / 6)
    assert r["errors"] == {"timeout": 2}
    # RSS that shrank is no growth
    assert row(Cell("stgo", "simple", users, 58 * MB, 50 * MB, 0.0))["mb_per_user"] == 0.0


def test_ratios_to_the_floor_and_streamlit_of_the_same_scenario_and_n() -> None:
    rows = add_ratios([row(_cell("floor", 100, 10, 0.4, 0.1)),
                       row(_cell("stgo", 110, 12, 0.2, 0.2)),
                       row(_cell("streamlit", 1000, 120, 4.0, 2.0)),
                       row(_cell("stgo", 500, 50, 1.0, 1.0, n=10))])
    stgo4 = rows[1]
    # P95 of 100..103 is 102.85; of 110..113, 112.85
    assert stgo4["x_floor"]["load_p95_ms"] == pytest.approx(112.85 / 102.85)
    assert stgo4["x_streamlit"]["load_p95_ms"] == pytest.approx(112.85 / 1002.85)
    assert stgo4["x_streamlit"]["mb_per_user"] == pytest.approx(0.05)
    assert stgo4["x_streamlit"]["cpu_ms_per_action"] == pytest.approx(0.1)
    assert rows[0]["x_floor"]["click_p95_ms"] == pytest.approx(1.0)
    # N=10 has neither a floor nor Streamlit in this run
    assert rows[3]["x_floor"]["load_p95_ms"] is None
    assert rows[3]["x_streamlit"]["load_p95_ms"] is None


def test_streamlit_pass_bar() -> None:
    good = row(_cell("stgo", 4000, 10, 50.0, 0.1, n=50))  # P95 load 4047 ms, 1 MB/user
    assert pass_bar(good)[0]
    assert not pass_bar(row(_cell("stgo", 5000, 10, 1.0, 0.1, n=50)))[0]  # load >= 5 s
    assert not pass_bar(row(_cell("stgo", 100, 10, 100.0, 0.1, n=50)))[0]  # 100 MB/50
    assert not pass_bar(row(_cell("stgo", 100, 10, 1.0, 0.1, n=10, failed=1)))[0]  # 90 %
    # the other scenarios: > 90 % and < 10 s
    other = row(_cell("stgo", 8000, 10, 1.0, 0.1, n=10, failed=1, scenario="live"))
    assert pass_bar(other)[0]
    assert not pass_bar(row(_cell("stgo", 8000, 10, 1.0, 0.1, n=10, failed=2,
                                  scenario="live")))[0]


def test_table_names_a_missing_peer() -> None:
    rows = add_ratios([row(_cell("stgo", 100, 10, 0.4, 0.1))])
    text = markdown(rows, {"nicegui": "no virtualenv with nicegui==3.18.0"})
    assert "| simple | 4 | stgo | 4/4 |" in text
    assert "**nicegui MISSING**: no virtualenv" in text


def test_plan_takes_turns_within_each_scenario_and_n() -> None:
    cells = plan([10, 25], ["simple", "live"], ["floor", "stgo", "streamlit"], workers2=True)
    groups: dict[tuple[int, str], list[str]] = {}
    for n, name, fw, turn in cells:
        assert turn == 0
        groups.setdefault((n, name), []).append(fw)
    # the floor only where the scenario has one; stgo-w2 only at the largest N
    assert sorted(groups[(10, "simple")]) == ["floor", "stgo", "streamlit"]
    assert sorted(groups[(10, "live")]) == ["stgo", "streamlit"]
    assert sorted(groups[(25, "simple")]) == ["floor", "stgo", "stgo-w2", "streamlit"]
    # each group's cells run one after another (interleaved frameworks, not one per block)
    order = [(n, name) for n, name, _, _ in cells]
    assert order == sorted(order, key=lambda k: ([10, 25].index(k[0]),
                                                 ["simple", "live"].index(k[1])))
    # the order rotates, so no framework always goes first
    assert len({fws[0] for fws in groups.values()}) > 1


def test_turns_rotate_and_their_table_gives_median_and_range_of_per_turn_ratios() -> None:
    cells = plan([10], ["simple"], ["floor", "stgo"], workers2=False, turns=3)
    assert [(fw, turn) for _, _, fw, turn in cells] == [
        ("floor", 0), ("stgo", 0), ("stgo", 1), ("floor", 1), ("floor", 2), ("stgo", 2)]
    rows = []
    for turn, (floor_ms, stgo_ms) in enumerate([(100, 110), (200, 100), (100, 300)]):
        for fw, ms in (("floor", floor_ms), ("stgo", stgo_ms)):
            rows.append({**row(_cell(fw, ms, ms / 10, 0.1, 0.1)), "turn": turn})
    table = turns_markdown(add_ratios(rows))
    stgo = next(line for line in table.splitlines() if "| stgo |" in line)
    # each turn's load P95 over the floor's of the same turn (the P95 of load+0..3
    # is load+2.85): 112.85 / 102.85, 102.85 / 202.85, 302.85 / 102.85
    assert "| 3 | 12/12 |" in stgo
    assert "x1.10 (x0.51-x2.94)" in stgo


def test_write_doc_replaces_only_its_block(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text("# Benchmarks\n\nkept\n")
    write_doc("first\n", doc)
    write_doc("second\n", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n")
    assert text.count(BEGIN) == 1 and "second" in text and "first" not in text
    assert text.rstrip().endswith(END)


def _need_chromium() -> None:
    if chromium_path() is None:
        reason = ("NO CHROMIUM FOUND at /usr/bin/chromium: browser tests SKIPPED "
                  "(apt-get install chromium, or run `make test` as root)")
        if os.environ.get("STGO_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " and STGO_REQUIRE_BROWSER=1 demands a browser")
        pytest.skip(reason)


@pytest.mark.browser
def test_driver_smoke_stgo_and_floor_two_users() -> None:
    """Two users each on the floor and stgo's ``simple``: both load, click and see it."""
    _need_chromium()
    from bench.users.driver import Browsers, run_cell
    from bench.users.peers import server

    async def run() -> list[Cell]:
        cells = []
        async with Browsers(2) as browsers:
            for fw in ("floor", "stgo"):
                with server(fw, "simple", {}) as srv:
                    cells.append(await run_cell(browsers, srv.url, srv.proc.pid,
                                                SCENARIOS["simple"], fw, 2, timeout_s=30))
        return cells

    # The browser tests' sync Playwright keeps an event loop running on this
    # thread (a session fixture): the driver's own loop gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        cells = pool.submit(lambda: asyncio.run(run())).result(timeout=300)
    rows = add_ratios([row(c) for c in cells])
    for r in rows:
        assert (r["ok"], r["errors"]) == (2, {}), r
        assert r["load_p95_ms"] > 0 and r["click_p95_ms"] > 0
        assert r["mb_per_user"] is not None and r["cpu_ms_per_action"] is not None
    assert rows[1]["x_floor"]["click_p95_ms"] is not None

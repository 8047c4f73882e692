"""The benchmarks in bench/ still run: each with --smoke (about 10 s), JSON out.

No timing is asserted here: CI machines are too noisy for that, and the figures
belong in docs/performance.md. This only keeps the scripts from rotting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.slow


def run_smoke(name: str) -> dict[str, Any]:
    """Run ``bench/<name>.py --smoke`` and return its JSON summary (the last line)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), "--smoke"],
                          capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing:\n{done.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    assert summary["benchmark"] == name
    assert {"machine", "argv", "when"} <= set(summary)
    return summary


def test_fanout_smoke() -> None:
    summary = run_smoke("fanout")
    row = summary["results"][0]
    kinds = ("sensorhub", "sensorhub_batch", "reference")  # `reading` and `readings` clients
    assert {"mode", "clients", *kinds, "ratio_sensorhub_to_reference",
            "ratio_sensorhub_batch_to_reference"} <= set(row)
    for kind in kinds:
        figures = row[kind]
        assert not figures["errors"], figures["errors"]
        assert {"delivered_pct", "p50_ms", "p99_ms", "cpu_us_per_reading",
                "readings_per_message", "rss_mib"} <= set(figures)
        assert figures["delivered_pct"]["median"] is not None
    assert {r["kind"] for r in summary["runs"]} == set(kinds)


def test_footprint_smoke() -> None:
    summary = run_smoke("footprint")
    row = summary["results"][0]
    assert {"imports_only_rss_mib", "sensorhub", "reference",
            "idle_rss_ratio_sensorhub_to_reference"} <= set(row)
    assert {"idle_rss_mib", "idle_cpu_pct", "start_to_listening_s",
            "start_to_first_answer_s"} <= set(row["sensorhub"])
    assert row["sensorhub"]["idle_rss_mib"]["median"] > 0
    modules = summary["sensorhub_modules"]
    assert modules["hardware_loaded"] == []  # mock sensors only: no hardware library


def test_history_smoke() -> None:
    summary = run_smoke("history")
    assert summary["generate"]["readings"] > 0
    assert summary["disk"]["bytes_per_reading"] > 0
    for part in ("store_history", "http_history", "http_history_reference"):
        assert set(summary[part]) == {"30d", "7d", "24h", "1h"}
        assert all(v["p50_ms"] is not None for v in summary[part].values())
    assert {"cpu_pct_of_one_core", "commits_per_hour", "fsyncs_per_hour"} <= set(
        summary["ingest"])
    assert set(summary["targets"]) >= {"30d_p50_ms<=50", "bytes_per_reading<=32"}


def test_longterm_statistics_smoke() -> None:
    summary = run_smoke("longterm")
    assert summary["generate"]["rows_left"]["stats_day"] > 0
    for part in ("store", "http"):
        assert set(summary[part]) == {"chart", "daily_table", "monthly_table"}
        assert all(v["p50_ms"] is not None and v["rows"] > 0 for v in summary[part].values())
    assert summary["writer"]["cpu_s_per_hour_with"] > 0
    assert set(summary["targets"]) == {"1y_chart_p50_ms<=50", "1y_daily_table_p50_ms<=50"}


@pytest.mark.browser
def test_pageweight_smoke() -> None:
    pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (./dev test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    summary = run_smoke("pageweight")
    cold = summary["first_load"]["cold"]
    assert cold["http_bytes"] > 0 and cold["charts"] > 0
    assert cold["first_live_point_drawn_ms"] is not None
    assert {"static_all_gzip_or_binary", "static_all_immutable_year",
            "static_all_fingerprinted", "responses"} <= set(cold)
    assert summary["first_load"]["warm"]["http_bytes"] < cold["http_bytes"]
    assert set(summary["targets"]) == {"cold_http_kib<=60", "first_live_point_ms<=1000"}

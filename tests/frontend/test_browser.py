"""GraphiQL and the dashboard in a real browser: Debian's Chromium driven by playwright-core
(clients/browser/check.mjs) against the running service. Screenshots go to screenshots/ (git-ignored);
the dashboard's first-load transfer size and time to first chart are printed.

Skipped, with the reason, only when Chromium or Node is missing (`make browser` installs Chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.conftest import ROOT

SCREENSHOTS = ROOT / "screenshots"
PANELS = ["panel-flows", "panel-creations", "panel-constituents", "panel-eligibility"]


def _chromium() -> str | None:
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="module")
def report(clients: Path, live_server: str) -> dict[str, Any]:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (`make browser` installs Debian's chromium)")
    result = subprocess.run(
        ["node", "browser/check.mjs", live_server, str(SCREENSHOTS)],
        cwd=clients,
        env={**os.environ, "CHROMIUM": chromium},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"the browser check failed:\n{result.stdout}\n{result.stderr}"
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_graphiql_opens_on_the_examples_and_runs_one(report: dict[str, Any]) -> None:
    graphiql = report["graphiql"]
    # GraphiQL opened with one tab per example (named by its operation) and the explorer open
    assert graphiql["tabs"][0] == "EtfWithTopConstituents"
    assert len(graphiql["tabs"]) == len(list((ROOT / "schema" / "examples").glob("*.graphql"))), graphiql[
        "tabs"
    ]
    assert graphiql["explorerOpen"]
    # running the first tab filled the result pane with its answer
    etf = graphiql["result"]["data"]["etf"]
    assert etf["code"] == "XHKG:03033"
    assert len(etf["trackedIndex"]["constituents"]) == 10
    assert "errors" not in graphiql["result"]
    assert graphiql["errors"] == []
    assert Path(graphiql["screenshot"]).is_file()


def test_every_dashboard_panel_renders_data(
    report: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    dashboard = report["dashboard"]
    for panel in PANELS:
        state = dashboard["panels"][panel]
        assert state["state"] == "ready", (panel, state)
        assert state["rows"] > 0, (panel, state)
    assert dashboard["chartCanvas"] == 1
    assert dashboard["errors"] == []
    for shot in dashboard["screenshots"]:
        assert Path(shot).is_file()
    assert dashboard["firstChartMs"] is not None

    with capsys.disabled():
        print(
            f"\n  dashboard first load: {dashboard['transferBytes'] / 1024:.1f} KiB transferred in "
            f"{dashboard['requests']} requests ({dashboard['assetBytes'] / 1024:.1f} KiB page and assets, "
            f"{dashboard['apiBytes'] / 1024:.1f} KiB GraphQL); first chart at {dashboard['firstChartMs']} ms, "
            f"all panels ready at {dashboard['readyMs']} ms; screenshots in {SCREENSHOTS.relative_to(ROOT)}/"
        )

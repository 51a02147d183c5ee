"""The pages and assets of service/web.py: GraphiQL's HTML, /dashboard and /static (no Node needed)."""

from __future__ import annotations

import json
import re
from typing import Any

from service.web import STATIC_DIR, Example, graphiql_html
from tests.conftest import ROOT


def _config(html: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, html
    return json.loads(match.group(1))


def _on_disk() -> list[str]:
    return sorted(p.stem for p in (ROOT / "schema" / "examples").glob("*.graphql"))


def test_graphiql_opens_on_every_example_with_its_variables() -> None:
    config = _config(graphiql_html(), "graphiql-config")

    assert config["endpoint"] == "/graphql"
    assert sorted(example["name"] for example in config["examples"]) == _on_disk()
    first = config["examples"][0]
    assert first["name"] == "q1_etf_with_index_top10"
    assert "query EtfWithTopConstituents" in first["query"]
    assert first["variables"] == {"code": "XHKG:03033"}
    assert all(example["variables"] for example in config["examples"])


def test_graphiql_loads_nothing_from_elsewhere() -> None:
    html = graphiql_html()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") or s.startswith("data:") for s in sources), sources
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_examples_cannot_close_the_script_element() -> None:
    html = graphiql_html(examples=[Example(name="x", query="# </script><b>", variables={})])

    assert "</script><b>" not in html
    assert _config(html, "graphiql-config")["examples"][0]["query"] == "# </script><b>"


async def test_a_browser_asking_for_graphql_gets_this_graphiql(client: Any) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert len(_config(page.text, "graphiql-config")["examples"]) == len(_on_disk())


async def test_dashboard_page_and_versioned_assets(client: Any) -> None:
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert _config(page.text, "dashboard-config") == {"endpoint": "/graphql"}

    script = re.search(r'src="(/static/dashboard/dashboard\.js\?v=\w+)"', page.text)
    assert script, page.text
    asset = await client.get(script.group(1), headers={"accept-encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["content-encoding"] == "gzip"
    assert "immutable" in asset.headers["cache-control"]
    assert asset.content == (STATIC_DIR / "dashboard" / "dashboard.js").read_bytes()


async def test_unversioned_assets_revalidate(client: Any) -> None:
    first = await client.get("/static/graphiql/graphiql.css")
    again = await client.get(
        "/static/graphiql/graphiql.css", headers={"if-none-match": first.headers["etag"]}
    )

    assert first.headers["cache-control"] == "no-cache"
    assert again.status_code == 304

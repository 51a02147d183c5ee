"""The browser pages: GraphiQL opening on the example operations, and the reference dashboard.

Both run on bundles committed in ``service/static/`` (built from ``clients/`` by ``make assets``), so
nothing is fetched from a CDN and ``make run`` needs no Node. ``graphiql_html()`` is the page the
/graphql endpoint returns to a browser; ``web_routes()`` serves ``/static`` and ``/dashboard``.
The examples are data files of the ``schema`` package (``schema/examples/*.graphql`` and
``variables.json``), read here as text: nothing of strawberry is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
# GraphiQL keeps its tabs in localStorage under this prefix: bump it when the examples change so
# that returning visitors see the new ones.
GRAPHIQL_STORAGE_NAMESPACE = "connectgraph-v2:"  # v2: issue 15's examples


@dataclass(frozen=True)
class Example:
    """A named example operation (one ``schema/examples/*.graphql`` file) with its variables."""

    name: str
    query: str
    variables: dict[str, Any]


QUESTION_PREFIX = "q"  # schema/examples/q1_*.graphql .. q9_*: the nine domain questions


def _default_examples_dir() -> Traversable:
    return files("schema").joinpath("examples")


def load_examples(folder: Traversable | Path | None = None) -> list[Example]:
    """The example operations, each with its entry of ``variables.json``: the domain notes' nine questions
    (``q1_*``..``q9_*``) first, GraphiQL opening on q1, then the others by file name."""
    directory = folder if folder is not None else _default_examples_dir()
    variables_file = directory.joinpath("variables.json")
    variables: dict[str, dict[str, Any]] = (
        json.loads(variables_file.read_text(encoding="utf-8")) if variables_file.is_file() else {}
    )
    documents = sorted(
        (entry for entry in directory.iterdir() if entry.name.endswith(".graphql")),
        key=lambda entry: (not entry.name.startswith(QUESTION_PREFIX), entry.name),
    )
    return [
        Example(
            name=(stem := entry.name.removesuffix(".graphql")),
            query=entry.read_text(encoding="utf-8"),
            variables=variables.get(stem, {}),
        )
        for entry in documents
    ]


@cache
def asset_url(relative: str) -> str:
    """``/static/<relative>?v=<content hash>``: a new build gets a new URL, so it can be cached for long."""
    digest = hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{relative}?v={digest}"


def _json_script(element_id: str, value: Any) -> str:
    # "<" escaped so that no string in the data can close the <script> element.
    payload = json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{payload}</script>'


def _page(title: str, css: str, script: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{asset_url(css)}">\n'
        f'<script type="module" src="{asset_url(script)}"></script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def graphiql_html(endpoint: str = "/graphql", examples: Sequence[Example] | None = None) -> str:
    """GraphiQL with the explorer plugin, one tab per example operation (variables filled in)."""
    chosen = load_examples() if examples is None else examples
    config = {
        "endpoint": endpoint,
        "storageNamespace": GRAPHIQL_STORAGE_NAMESPACE,
        "examples": [{"name": e.name, "query": e.query, "variables": e.variables} for e in chosen],
    }
    body = '<div id="graphiql" style="height:100vh">Loading GraphiQL…</div>\n' + _json_script(
        "graphiql-config", config
    )
    return _page("ConnectGraph · GraphiQL", "graphiql/graphiql.css", "graphiql/graphiql.js", body).replace(
        "<body>", '<body style="margin:0">', 1
    )


def dashboard_html(endpoint: str = "/graphql") -> str:
    """The reference dashboard: four panels, each a query on the public GraphQL API."""
    body = (
        "<header><h1>ConnectGraph reference dashboard</h1>"
        f'<p>Every panel is one query on the public GraphQL API at <a href="{escape(endpoint)}">'
        f"{escape(endpoint)}</a> (open it in a browser for GraphiQL). The demo figures are "
        "generated, not market data.</p></header>\n"
        '<main id="dashboard"></main>\n' + _json_script("dashboard-config", {"endpoint": endpoint})
    )
    return _page("ConnectGraph · Dashboard", "dashboard/dashboard.css", "dashboard/dashboard.js", body)


class _StaticFiles(StaticFiles):
    """Static files whose versioned URLs (``?v=``, see ``asset_url``) are cached as immutable."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["cache-control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
        return response


def web_routes(endpoint: str = "/graphql") -> list[BaseRoute]:
    """``/static`` (the bundles) and ``/dashboard``; add them to the app's routes. Compression is the
    app's (its middleware compresses every response by Accept-Encoding)."""
    page = dashboard_html(endpoint)

    async def dashboard(request: Request) -> Response:
        return HTMLResponse(page, headers={"cache-control": "no-cache"})

    return [
        Route("/dashboard", dashboard, methods=["GET"], name="dashboard"),
        Mount(STATIC_PREFIX, app=_StaticFiles(directory=STATIC_DIR), name="static"),
    ]

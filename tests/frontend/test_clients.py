"""The typed TypeScript client (clients/): types generated from the SDL, checked by tsc, and the nine
example operations run with graphql-request against the real service."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.frontend.conftest import npm

EXAMPLES = [
    "EtfWithTopConstituents",
    "ConstituentsAsOf",
    "SouthboundEligible",
    "SouthboundFlow",
    "TopCreations",
    "AumHistory",
    "IndexLicensees",
    "BigSouthboundDays",
    "SecurityExposure",
]


def test_generated_types_cover_the_nine_examples_and_typecheck(clients: Path) -> None:
    # given the types generated from schema/schema.graphql (the `clients` fixture runs codegen)
    generated = (clients / "src" / "gql" / "graphql.ts").read_text()

    # then every example operation is a typed document, and the project type-checks
    for name in EXAMPLES:
        assert f"export const {name}Document" in generated
    npm("run", "typecheck")


def test_the_nine_examples_run_against_the_service(clients: Path, live_server: str) -> None:
    # when the typed client runs every example operation with its example variables
    result = subprocess.run(
        ["npx", "--no-install", "tsx", "src/run-examples.ts", f"{live_server}/graphql"],
        cwd=clients,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then each answered without errors
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    failures = [line for line in lines if not line["ok"]]
    assert not failures, failures
    assert [line["operation"] for line in lines] == EXAMPLES, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_committed_bundles_match_their_sources(clients: Path, tmp_path: Path) -> None:
    # when the GraphiQL and dashboard bundles are rebuilt from clients/
    npm("run", "build", "--", str(tmp_path))

    # then they are byte for byte the ones committed in service/static (else: `make assets`)
    committed = clients.parent / "service" / "static"
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert built == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    stale = [str(p) for p in built if (tmp_path / p).read_bytes() != (committed / p).read_bytes()]
    assert not stale, f"stale bundles, run `make assets`: {stale}"

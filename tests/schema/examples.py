"""The nine domain questions (schema/examples) as (name, document, variables) for the tests."""

import json
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "schema" / "examples"
VARIABLES = json.loads((EXAMPLES_DIR / "variables.json").read_text())

EXAMPLES = [
    (path.stem, path.read_text(), VARIABLES[path.stem]) for path in sorted(EXAMPLES_DIR.glob("*.graphql"))
]


def example(prefix: str) -> tuple[str, dict[str, object]]:
    for name, document, variables in EXAMPLES:
        if name.startswith(prefix):
            return document, dict(variables)
    raise KeyError(prefix)

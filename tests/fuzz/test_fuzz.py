"""Fuzzed requests against a production-mode server: no 5xx, no INTERNAL_SERVER_ERROR, no leaked exception
name, nothing slower than 2 s, and the service still answers afterwards.

A short run here (``FUZZ_EXAMPLES`` cases per class, 40 by default); ``bench/fuzz`` runs 3,000 and more.
A class whose only failures are known ones (``tests/fuzz/known.py``: issue 16, each with the engineer fixing
it) ends as xfail naming them; any other failure fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from schema.schema import schema
from tests.fuzz.cases import classes, collect
from tests.fuzz.known import classify
from tests.fuzz.send import answers_a_question, send
from tests.fuzz.server import Server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("FUZZ_SEED", "20261130"))
CLASSES = classes(schema._schema)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    running = Server(database_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("klass", list(CLASSES))
async def test_no_fuzzed_request_breaks_a_rule(server: Server, klass: str) -> None:
    cases = collect(CLASSES[klass], EXAMPLES, SEED)
    base = await server.answering()
    report = await send(base, cases)
    # after the class: the service still answers a real question (unless a known failure blocked it)
    still_answers = report.stopped_answering is None and await answers_a_question(base)
    owners = classify(report.findings)
    unknown = [finding for finding, known in owners if known is None]
    assert not unknown, report.summary()
    if owners:
        expected = sorted({f"{known.owner}: {known.what}" for _, known in owners if known})
        pytest.xfail(f"{len(owners)} known failures ({'; '.join(expected)})\n{report.summary(limit=0)}")
    assert report.sent == len(cases) > 0 and report.stopped_answering is None
    assert still_answers

"""The ``Dataset`` GraphQL enum, built from the loader's dataset names (``service/ingest/datasets.py``).

The enum's values are the Python members' names (``ETF_DAILY``); ``connectgraph load``, the load history
and the loader's NOTIFY use their values (``etf-daily``). One list, so a new dataset appears everywhere.
"""

from __future__ import annotations

import strawberry

from service.ingest.datasets import Dataset

strawberry.enum(
    Dataset,
    name="Dataset",
    description="A dataset loads fill; `connectgraph load` names it in lower case with dashes "
    "(`ETF_DAILY` is `etf-daily`).",
)
for _value in Dataset.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = Dataset(_value.value).description

__all__ = ["Dataset"]

"""The ``Dataset`` GraphQL enum: the loader's dataset names (``service/ingest/datasets.py``).

The model declares it (``service/model/enums.py``: its values are the Python members' names,
``ETF_DAILY``, standing for their values, ``etf-daily``, which ``connectgraph load``, the load history and
the loader's NOTIFY use), and the generated schema is built on the Python enum itself, so the
subscription's ``dataLanded`` and the Query's ``dataLoads`` and ``datasets`` share one type.
"""

from __future__ import annotations

import schema.generated  # noqa: F401  (builds the schema's enums, Dataset among them)
from service.ingest.datasets import Dataset

__all__ = ["Dataset"]

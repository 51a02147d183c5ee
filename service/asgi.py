"""The ASGI app uvicorn imports in each worker, built from the settings in the environment."""

import gc

from service.app import create_app
from service.settings import Settings

app = create_app(Settings())

# Everything built so far (the schema, the app, the imported modules) lives as long as the process:
# move it out of the collector's reach, so that a full collection scans only request garbage. At
# 2,000 requests/s this took p99 from ~60 ms to ~15-20 ms (docs/benchmarks.md).
gc.collect()
gc.freeze()

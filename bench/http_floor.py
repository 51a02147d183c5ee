"""The HTTP floor: a bare Starlette route returning 1.2 kB of fixed JSON, the most requests/s that uvicorn
and Starlette allow on this machine before any GraphQL, database or access check.

    uvicorn bench.http_floor:app --port 8099 --workers 1 --loop uvloop --http httptools --no-access-log
    wrk -t2 -c16 -d10s -s bench/post.lua http://127.0.0.1:8099/graphql -- bench/.work/bodies/ours_q1.json

Run it under the same uvicorn flags as the server it is compared with; answer-cache hits are reported as
a fraction of its requests/s (docs/benchmarks.md).
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# 1,200 bytes of JSON shaped like an answer: {"data":{"floor":"xxx..."}}.
BODY = json.dumps(
    {"data": {"floor": "x" * (1200 - len('{"data":{"floor":""}}'))}}, separators=(",", ":")
).encode()
assert len(BODY) == 1200


async def graphql(request: Request) -> Response:
    await request.body()  # read the request as a server must
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])

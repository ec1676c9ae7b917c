"""Local HTTP server that implements the part of the Apify API v2 that the pipeline uses.

The real `apify_client.ApifyClient` talks to it over HTTP when it is created with
`api_url=server.url`. The client appends `/v2` itself. Endpoints (`{actorId}` is the actor id
or `user~name`, `acts` is accepted as an alias of `actors`):

* `POST /v2/actors/{actorId}/runs` starts a run with the JSON body as its input. The query
  parameters `memory`, `timeout`, `maxItems`, `build` and `waitForFinish` are honoured.
* `GET /v2/actors/{actorId}` returns a minimal actor object.
* `GET /v2/actor-runs/{runId}` (optionally `?waitForFinish=N`, at most 60 seconds) and
  `POST /v2/actor-runs/{runId}/abort`. The sub-paths `/dataset`, `/dataset/items` and `/log`
  work too, and all of these also work under `/v2/actors/{actorId}/runs/last`.
* `GET /v2/logs/{runId}`, `GET /v2/datasets/{datasetId}` and
  `GET /v2/datasets/{datasetId}/items`, which sets the five `X-Apify-Pagination-*` headers.
* Test controls outside `/v2`: `GET|POST|DELETE /_admin/faults`, `GET /_admin/runs` and
  `GET /_admin/requests`. They never require the token.

Each run lasts `latency_seconds`, pushing its items to its dataset in proportion to the
elapsed time, and then ends SUCCEEDED. A fault rule, or a run timeout (the `timeout` query
parameter) shorter than the latency, makes it end otherwise. Run state is computed from the
clock whenever a request reads it, so no thread runs per run. Items come from
`jobs_pipeline.apify.sample_data`.

Fault rules change what run creation returns. See `LocalApifyServer.add_fault` for the modes.

Modules:

* `server`: `LocalApifyServer`, which configures, starts and stops the server.
* `faults` and `planning`: fault rules, and how a new run behaves under them.
* `runs`, `store` and `api_objects`: run records, their store and their Apify API objects.
* `handler`, `routes`, `protocol`, `endpoints` and `admin`: the HTTP side.
* `__main__`: the command-line interface, `python -m jobs_pipeline.apify.local_server --help`.
"""

from jobs_pipeline.apify.local_server.faults import FAULT_MODES, FaultRule
from jobs_pipeline.apify.local_server.runs import RunSummary
from jobs_pipeline.apify.local_server.server import LocalApifyServer

__all__ = ["FAULT_MODES", "FaultRule", "LocalApifyServer", "RunSummary"]

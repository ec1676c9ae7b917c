"""Route table of the local Apify server: method, path pattern and handler of each endpoint.

`name` is the endpoint as `request_counts` reports it, for example "GET /v2/actor-runs/{runId}".
`handler_name` names a method of `RequestHandler`, defined in `endpoints.py` or `admin.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler_name: str


def _build_routes() -> tuple[Route, ...]:
    actor = r"/v2/(?:acts|actors)/(?P<actor_id>[^/]+)"
    run_prefixes = (
        (r"/v2/actor-runs/(?P<run_id>[^/]+)", "/v2/actor-runs/{runId}"),
        (actor + r"/runs/last", "/v2/actors/{actorId}/runs/last"),
    )
    specs: list[tuple[str, str, str, str]] = [
        ("POST", actor + r"/runs", "/v2/actors/{actorId}/runs", "_start_run"),
        ("GET", actor, "/v2/actors/{actorId}", "_get_actor"),
        ("GET", r"/v2/logs/(?P<run_id>[^/]+)", "/v2/logs/{runId}", "_get_run_log"),
        ("GET", r"/v2/datasets/(?P<dataset_id>[^/]+)", "/v2/datasets/{datasetId}", "_get_dataset"),
        (
            "GET",
            r"/v2/datasets/(?P<dataset_id>[^/]+)/items",
            "/v2/datasets/{datasetId}/items",
            "_list_dataset_items",
        ),
        ("GET", r"/_admin/faults", "/_admin/faults", "_list_faults"),
        ("POST", r"/_admin/faults", "/_admin/faults", "_add_faults"),
        ("DELETE", r"/_admin/faults", "/_admin/faults", "_clear_faults"),
        ("GET", r"/_admin/runs", "/_admin/runs", "_list_runs"),
        ("GET", r"/_admin/requests", "/_admin/requests", "_list_request_counts"),
    ]
    for pattern, name in run_prefixes:
        specs += [
            ("GET", pattern, name, "_get_run"),
            ("POST", pattern + r"/abort", name + "/abort", "_abort_run"),
            ("GET", pattern + r"/dataset", name + "/dataset", "_get_dataset"),
            ("GET", pattern + r"/dataset/items", name + "/dataset/items", "_list_dataset_items"),
            ("GET", pattern + r"/log", name + "/log", "_get_run_log"),
        ]
    return tuple(
        Route(method, re.compile(pattern), f"{method} {name}", handler_name)
        for method, pattern, name, handler_name in specs
    )


ROUTES = _build_routes()

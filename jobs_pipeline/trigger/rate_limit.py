"""In-memory rate limit per client address, applied to every request before authentication.

Limiting before authentication also slows down anyone guessing the token. The state lives in
one process, so every service process counts on its own and a restart resets all counts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from jobs_pipeline.trigger.responses import error_response

logger = logging.getLogger(__name__)

# Maximum number of clients tracked. Beyond it the least recently seen client is dropped,
# which bounds memory when requests come from many addresses. A dropped client starts with an
# empty window.
DEFAULT_MAX_CLIENTS = 10_000


@dataclass
class _ClientWindow:
    # Monotonic times of the requests admitted within the current window, oldest first.
    admitted: deque[float] = field(default_factory=deque)
    # Requests rejected since the last admitted one, so only the first is logged.
    rejections: int = 0


@dataclass(frozen=True)
class RateLimitDecision:
    """Outcome of one request against the limit.

    Attributes:
        allowed: whether the request may proceed.
        retry_after_seconds: seconds until the client may send again, or 0 when allowed.
        rejections: for a rejected request, the client's rejections since its last admitted
            request, this one included. For an admitted request, the rejections that came
            between it and the client's previous admitted request.
    """

    allowed: bool
    retry_after_seconds: float = 0.0
    rejections: int = 0


class SlidingWindowRateLimiter:
    """Admits at most `limit` requests per client in any window of `window_seconds`.

    Rejected requests do not count, so a client that keeps calling is admitted again as soon
    as its oldest admitted request leaves the window.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0 or max_clients < 1:
            raise ValueError(
                f"invalid rate limit {limit} per {window_seconds} s for {max_clients} clients: "
                "all three must be positive"
            )
        self.limit = limit
        self.window_seconds = window_seconds
        self._max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _ClientWindow] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> RateLimitDecision:
        """Record a request from `client` and return whether it is within the limit."""
        now = self._clock()
        with self._lock:
            window = self._clients.pop(client, None) or _ClientWindow()
            self._clients[client] = window
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)

            while window.admitted and window.admitted[0] <= now - self.window_seconds:
                window.admitted.popleft()
            if len(window.admitted) < self.limit:
                window.admitted.append(now)
                rejections, window.rejections = window.rejections, 0
                return RateLimitDecision(allowed=True, rejections=rejections)

            window.rejections += 1
            retry_after = window.admitted[0] + self.window_seconds - now
            return RateLimitDecision(
                allowed=False, retry_after_seconds=retry_after, rejections=window.rejections
            )


class RateLimitMiddleware:
    """ASGI middleware that responds with 429 and `Retry-After` to clients over the limit.

    The client address is the socket peer, or the `X-Forwarded-For` address when uvicorn runs
    with proxy headers enabled (`--proxy-headers`), because uvicorn rewrites the ASGI `client`
    before this middleware receives it.
    """

    def __init__(self, app: ASGIApp, limiter: SlidingWindowRateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        client = scope.get("client")
        address = client[0] if client else "unknown"
        decision = self.limiter.check(address)
        if decision.allowed:
            if decision.rejections:
                logger.info(
                    "Client %s is within the rate limit again after %d rejected requests",
                    address,
                    decision.rejections,
                )
            await self.app(scope, receive, send)
            return

        retry_after = max(1, math.ceil(decision.retry_after_seconds))
        # Log only the first rejection in a row, so a client hammering the service cannot
        # flood the log. The total is logged when the client is admitted again.
        if decision.rejections == 1:
            logger.warning(
                "Rate limit reached for client %s (%d requests per %g s): responding 429 "
                "to %s %s, retry after %d s",
                address,
                self.limiter.limit,
                self.limiter.window_seconds,
                scope["method"],
                scope["path"],
                retry_after,
            )
        response = error_response(
            429,
            "rate_limited",
            f"Too many requests from {address}: at most {self.limiter.limit} requests per "
            f"{self.limiter.window_seconds:g} seconds are accepted. Retry after {retry_after} "
            "seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

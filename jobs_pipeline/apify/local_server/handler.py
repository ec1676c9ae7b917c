"""HTTP transport of the local Apify server: connection tracking, routing, bodies and tokens.

The endpoint handlers that `RequestHandler` dispatches to are in `endpoints.py` and `admin.py`.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from jobs_pipeline.apify.local_server.admin import AdminEndpoints
from jobs_pipeline.apify.local_server.endpoints import ApiEndpoints
from jobs_pipeline.apify.local_server.protocol import (
    MAX_REQUEST_BODY_BYTES,
    ApiError,
    Response,
    json_response,
)
from jobs_pipeline.apify.local_server.routes import ROUTES, Route

if TYPE_CHECKING:
    from jobs_pipeline.apify.local_server.server import LocalApifyServer

logger = logging.getLogger(__name__)


class HttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections and requests in progress."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: LocalApifyServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._requests_in_progress = 0
        self._requests_changed = threading.Condition()
        super().__init__(address, RequestHandler)

    def request_started(self) -> None:
        with self._requests_changed:
            self._requests_in_progress += 1

    def request_finished(self) -> None:
        with self._requests_changed:
            self._requests_in_progress -= 1
            self._requests_changed.notify_all()

    def wait_until_idle(self, timeout: float) -> int:
        """Wait until no request is in progress, and return how many still are."""
        with self._requests_changed:
            self._requests_changed.wait_for(lambda: self._requests_in_progress == 0, timeout)
            return self._requests_in_progress

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection, including idle keep-alive ones."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                # The peer may have closed it in the meantime.
                pass


class RequestHandler(ApiEndpoints, AdminEndpoints, BaseHTTPRequestHandler):
    """Handler for the requests on one HTTP/1.1 connection."""

    server: HttpServer
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string is left out because it may carry a token.
        path = urlsplit(self.path).path
        logger.debug("%s %s -> %s", self.command, path, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        logger.debug("HTTP protocol error: " + format, *args)

    @property
    def _app(self) -> LocalApifyServer:
        return self.server.app

    def _dispatch(self) -> None:
        self.server.request_started()
        try:
            self._handle_request()
        finally:
            self.server.request_finished()

    def _handle_request(self) -> None:
        parsed = urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {
            key: values[-1]
            for key, values in parse_qs(parsed.query, keep_blank_values=True).items()
        }
        route, path_params, allowed_methods = self._match_route(path)
        self._app._count_request(route.name if route else f"{self.command} (unknown route)")

        try:
            body = self._read_body()
            if route is None:
                if allowed_methods:
                    raise ApiError(
                        HTTPStatus.METHOD_NOT_ALLOWED,
                        "method-not-allowed",
                        f"{self.command} is not allowed on {path}. "
                        f"Use {', '.join(sorted(allowed_methods))}.",
                        headers={"Allow": ", ".join(sorted(allowed_methods))},
                    )
                raise ApiError(
                    HTTPStatus.NOT_FOUND,
                    "page-not-found",
                    f"No endpoint {self.command} {path} exists on the local Apify server.",
                )
            if path.startswith("/v2/"):
                self._check_token()
            handler: Callable[[dict[str, str], dict[str, str], bytes], Response] = getattr(
                self, route.handler_name
            )
            response = handler(path_params, query, body)
        except ApiError as error:
            # The message stays out of the log because http_500_echo_token puts the
            # Authorization header into it.
            logger.info(
                "%s %s failed with %d %s", self.command, path, error.status, error.error_type
            )
            response = json_response(error.status, error.to_json(), **error.headers)
        except Exception:
            logger.exception("Request %s %s failed", self.command, path)
            error = ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "internal-server-error",
                "The local Apify server failed to handle the request. See its log.",
            )
            response = json_response(error.status, error.to_json())
        self._send(response)

    def _match_route(self, path: str) -> tuple[Route | None, dict[str, str], set[str]]:
        allowed_methods: set[str] = set()
        for route in ROUTES:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == self.command:
                params = {key: unquote(value) for key, value in found.groupdict().items()}
                return route, params, allowed_methods
            allowed_methods.add(route.method)
        return None, {}, allowed_methods

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "invalid-request",
                f"Content-Length must be a number, got {length_text!r}.",
            ) from None
        if length > MAX_REQUEST_BODY_BYTES or length < 0:
            # The body stays unread, so the connection cannot carry another request.
            self.close_connection = True
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "request-too-large",
                f"Request body of {length} bytes is larger than {MAX_REQUEST_BODY_BYTES} bytes.",
            )
        return self.rfile.read(length)

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.close_connection = True
                raise ApiError(
                    HTTPStatus.BAD_REQUEST, "invalid-request", "Chunked request body is malformed."
                ) from None
            if size == 0:
                # Skip optional trailer lines up to the empty line that ends the body.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                self.close_connection = True
                raise ApiError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "request-too-large",
                    f"Request body is larger than {MAX_REQUEST_BODY_BYTES} bytes.",
                )
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _check_token(self) -> None:
        expected_token = self._app._expected_token
        if expected_token is None:
            return
        header = self.headers.get("Authorization")
        if header is None:
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "token-not-provided",
                "No API token was sent. Send it in the header 'Authorization: Bearer <token>'.",
            )
        expected = f"Bearer {expected_token}".encode()
        if not hmac.compare_digest(header.encode("utf-8", "replace"), expected):
            raise ApiError(
                HTTPStatus.UNAUTHORIZED,
                "invalid-token",
                "The API token in the Authorization header is not valid for this server.",
            )

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError) as error:
            # Clients that time out close the connection before the response is ready.
            logger.debug("Client closed the connection before the response was sent: %s", error)
            self.close_connection = True

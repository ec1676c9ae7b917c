"""Headless Chromium driven over the Chrome DevTools Protocol, for tests of the Dagster UI.

Uses the system's Chromium (Debian package `chromium`) and the `websockets` package, which
`dagster-webserver` installs through `uvicorn[standard]`. Nothing is downloaded.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

# Without the background-networking, component-update and sync flags Chromium contacts
# Google's servers on start. The resolver rule makes every host name but 127.0.0.1 fail to
# resolve, so a page cannot reach other hosts by name either. The DevTools endpoint listens on
# 127.0.0.1 at a port that Chromium picks.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
START_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 30
POLL_INTERVAL_SECONDS = 0.25

# Names of the CSS animations and transitions running in the page. Dagster draws its loading
# states (spinners, skeletons, loading bars) and dialog fades with them.
RUNNING_ANIMATIONS = (
    "document.getAnimations().filter(animation => animation.playState === 'running')"
    ".map(animation => animation.animationName || animation.transitionProperty || 'animation')"
)


class PageWaitTimeout(AssertionError):
    """The page did not reach the expected state in time."""


class HeadlessChromium:
    """One headless Chromium process with one page, used as a context manager.

    `user_data_dir` should be a new empty folder. Chromium keeps its profile there and writes
    the DevTools port it picked to `DevToolsActivePort`, which is how this class finds it.
    """

    def __init__(
        self,
        executable: str,
        user_data_dir: Path,
        log_path: Path,
        *,
        width: int = 1600,
        height: int = 1000,
    ) -> None:
        self.executable = executable
        self.user_data_dir = user_data_dir
        self.log_path = log_path
        self.width = width
        self.height = height
        self._exit_stack = contextlib.ExitStack()
        self._process: subprocess.Popen | None = None
        self._connection: ClientConnection | None = None
        self._session_id: str | None = None
        self._message_ids = itertools.count(1)

    def __enter__(self) -> HeadlessChromium:
        with contextlib.ExitStack() as stack:
            self._start_process(stack)
            port, browser_path = self._wait_for_devtools_port()
            self._connection = stack.enter_context(
                connect(
                    f"ws://127.0.0.1:{port}{browser_path}",
                    proxy=None,
                    max_size=None,
                    open_timeout=COMMAND_TIMEOUT_SECONDS,
                )
            )
            target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session_id = self.send(
                "Target.attachToTarget", {"targetId": target_id, "flatten": True}
            )["sessionId"]
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": self.width,
                    "height": self.height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
            )
            self._exit_stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit_stack.close()

    def _start_process(self, stack: contextlib.ExitStack) -> None:
        # A port file left by an earlier browser on this profile would name a closed port.
        (self.user_data_dir / "DevToolsActivePort").unlink(missing_ok=True)
        log = stack.enter_context(self.log_path.open("wb"))
        self._process = subprocess.Popen(
            [
                self.executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.user_data_dir}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(self._stop_process)

    def _stop_process(self) -> None:
        """Terminate Chromium, then kill its process group if it has not exited in 10 s."""
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def _wait_for_devtools_port(self) -> tuple[int, str]:
        port_file = self.user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Chromium exited with code {self._process.returncode} on start; "
                    f"see {self.log_path}"
                )
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if len(lines) == 2:
                return int(lines[0]), lines[1]
            time.sleep(0.1)
        raise TimeoutError(
            f"Chromium did not write {port_file} within {START_TIMEOUT_SECONDS} s; "
            f"see {self.log_path}"
        )

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one DevTools command and return its result, skipping events that arrive first.

        Commands go to the page once it is attached, and to the browser before that.
        """
        message_id = next(self._message_ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if self._session_id is not None:
            message["sessionId"] = self._session_id
        self._connection.send(json.dumps(message))
        deadline = time.monotonic() + COMMAND_TIMEOUT_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"DevTools command {method} got no response in {COMMAND_TIMEOUT_SECONDS} s"
                )
            reply = json.loads(self._connection.recv(timeout=remaining))
            if reply.get("id") != message_id:
                continue
            if "error" in reply:
                raise RuntimeError(f"DevTools command {method} failed: {reply['error']}")
            return reply["result"]

    def navigate(self, url: str) -> None:
        """Start loading `url`; the single-page app then renders on its own."""
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"Navigation to {url} failed: {result['errorText']}")

    def evaluate(self, expression: str) -> Any:
        """Evaluate a JavaScript expression in the page and return its value as JSON data."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            error = details.get("exception", {}).get("description", details.get("text"))
            raise RuntimeError(f"JavaScript error in the page: {error}\n{expression}")
        return result["result"].get("value")

    def wait_for(
        self,
        expression: str,
        condition: Callable[[Any], bool],
        timeout_seconds: float,
        description: str,
    ) -> Any:
        """Evaluate `expression` until `condition` accepts its value, and return that value.

        Raises PageWaitTimeout with `description` and the last value after `timeout_seconds`.
        """
        deadline = time.monotonic() + timeout_seconds
        while True:
            value = self.evaluate(expression)
            if condition(value):
                return value
            if time.monotonic() >= deadline:
                raise PageWaitTimeout(
                    f"after {timeout_seconds} s the page still lacks {description}; "
                    f"the last value was:\n{str(value)[:3000]}"
                )
            time.sleep(POLL_INTERVAL_SECONDS)

    def wait_for_text(
        self, expected: list[str], timeout_seconds: float, selector: str = "body"
    ) -> str:
        """Wait until the text of the first `selector` match contains every `expected` string.

        Returns that text (`innerText`, so only what is rendered).
        """
        expression = f"document.querySelector({json.dumps(selector)})?.innerText ?? ''"
        return self.wait_for(
            expression,
            lambda text: all(item in text for item in expected),
            timeout_seconds,
            f"{expected} in {selector!r}",
        )

    def wait_until_settled(self, timeout_seconds: float, quiet_seconds: float = 1.0) -> None:
        """Wait until no CSS animation or transition has run for `quiet_seconds`.

        This outlasts loading spinners and skeletons, and dialogs that are still fading in.
        """
        deadline = time.monotonic() + timeout_seconds
        quiet_since = time.monotonic()
        while True:
            running = self.evaluate(RUNNING_ANIMATIONS)
            now = time.monotonic()
            if running:
                quiet_since = now
            elif now - quiet_since >= quiet_seconds:
                return
            if now >= deadline:
                raise PageWaitTimeout(
                    f"the page still ran animations after {timeout_seconds} s: {running}"
                )
            time.sleep(POLL_INTERVAL_SECONDS)

    def table_rows(self, selector: str) -> list[list[str]]:
        """Return the text of each cell of the table rows that match `selector`."""
        return self.evaluate(
            f"[...document.querySelectorAll({json.dumps(selector)})]"
            ".map(row => [...row.children].map(cell => cell.innerText.trim()))"
        )

    def click_text(self, text: str) -> bool:
        """Click the first button or link whose rendered text is exactly `text`.

        Returns False when there is none.
        """
        return self.evaluate(
            "(() => {"
            " const element = [...document.querySelectorAll('button, a')]"
            f".find(candidate => candidate.innerText.trim() === {json.dumps(text)});"
            " if (!element) return false;"
            " element.click();"
            " return true;"
            " })()"
        )

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the visible part of the page."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

"""Headless Chromium for page tests, driven over the DevTools protocol (websocket-client).

One browser process per test module (started through `servers.running`, stopped by pid);
`Browser.visit(url)` opens the URL in a fresh tab and reports what a person would not see:
every request the page made, console errors, uncaught exceptions and JavaScript dialogs.
The flags keep Chromium from calling home, so any request not to 127.0.0.1 (or a file: /
data: URL) comes from the page itself.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websocket
from servers import free_port, require_binary, running, wait_until

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--window-size=1280,800",
]


@dataclass
class Visit:
    """What happened while one page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    tab: Tab | None = None

    def outside(self) -> list[str]:
        """Requests that left 127.0.0.1 (file:, data: and about: stay on the machine)."""
        found = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("file", "data", "about"):
                continue
            if parts.hostname != "127.0.0.1":
                found.append(url)
        return found

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DevTools evaluation, not the page's)."""
        assert self.tab is not None
        reply = self.tab.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return reply["result"].get("value")

    def screenshot(self, path: Path) -> None:
        """The viewport (1280x800) as a PNG."""
        assert self.tab is not None
        data = self.tab.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


class Tab:
    """One page target: a websocket, numbered calls, and the events seen so far."""

    def __init__(self, websocket_url: str) -> None:
        self.socket = websocket.create_connection(websocket_url, timeout=20, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message
        raise TimeoutError(f"no {method} within {timeout} s")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()


class Browser:
    def __init__(self, port: int) -> None:
        self.port = port
        self.tabs: list[Tab] = []

    def _json(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def visit(self, url: str, settle: float = 0.3) -> Visit:
        """Open ``url`` in a new tab at 1280x800 and wait for its load event (plus ``settle`` s)."""
        target = self._json("/json/new?about:blank", method="PUT")
        tab = Tab(target["webSocketDebuggerUrl"])
        self.tabs.append(tab)
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        tab.call("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1, mobile=False)
        tab.events.clear()
        tab.call("Page.navigate", url=url)
        tab.wait_for("Page.loadEventFired")
        time.sleep(settle)
        tab.call("Runtime.evaluate", expression="1")  # drains events that arrived meanwhile
        visit = Visit(url, tab=tab)
        for event in tab.events:
            params = event.get("params", {})
            method = event["method"]
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                visit.console_errors.append(json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                visit.console_errors.append(params["entry"].get("text", ""))
            elif method == "Runtime.exceptionThrown":
                visit.exceptions.append(json.dumps(params.get("exceptionDetails")))
            elif method == "Page.javascriptDialogOpening":
                visit.dialogs.append(params.get("message", ""))
        return visit

    def close(self) -> None:
        for tab in self.tabs:
            tab.close()


@contextlib.contextmanager
def chromium(log_dir: Path) -> Iterator[Browser]:
    """A headless Chromium on a free 127.0.0.1 DevTools port, stopped by pid afterwards."""
    binary = require_binary("chromium", "chromium-browser", "google-chrome")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="driftmon-chromium-") as profile:
        args = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "--remote-debugging-address=127.0.0.1",
            "about:blank",
        ]
        with running(args, log_path=log_dir / "chromium.log", name="chromium", env={"HOME": profile}) as process:
            browser = Browser(port)

            def up() -> bool:
                assert process.returncode is None, process.describe()
                return bool(browser._json("/json/version"))

            wait_until(up, 30.0, interval=0.2, message="chromium DevTools endpoint")
            try:
                yield browser
            finally:
                browser.close()


__all__ = ["Browser", "Visit", "chromium"]

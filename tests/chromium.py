"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol, for the
tests of the server's pages: load a URL, evaluate JavaScript in it, wait for a
condition, take a screenshot. One browser per `Chromium`, with a profile of its own,
stopped by pid.

A missing browser skips the test with the reason, except in CI (CI=true), where it
fails: `make test` installs it (TEST_DEBIAN_PACKAGES in the Makefile).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends import in_ci

BINARY = os.environ.get("NEUTRINO_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0"]


def require_chromium() -> str:
    path = shutil.which(BINARY)
    if path is None:
        reason = (f"{BINARY} not found: apt-get install chromium "
                  "(make test installs it; NEUTRINO_TEST_CHROMIUM names another)")
        if in_ci():
            pytest.fail(f"{reason} (CI=true: the browser tests are required)")
        pytest.skip(reason)
    return path


class Chromium:
    def __init__(self, width: int = 1200, height: int = 800) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="neutrino-chromium-"))
        self.proc = subprocess.Popen(
            [require_chromium(), *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._ids = itertools.count(1)
        try:
            self.ws = self._connect_to_page()
        except BaseException:
            self.close()
            raise

    def _connect_to_page(self, timeout: float = 20.0) -> Any:
        import websocket  # websocket-client, a test dependency
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        while True:
            targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("chromium opened no page")
            time.sleep(0.05)
        # Chromium refuses DevTools connections that carry an Origin it does not allow.
        return websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30,
                                           suppress_origin=True)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:  # events arrive in between; only our answer matters here
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def navigate(self, url: str) -> None:
        self.send("Page.enable")
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """The value of `expression` once it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {timeout}s: {expression} "
                                     f"(page: {self.evaluate('document.body.innerText')!r})")
            time.sleep(0.1)

    def screenshot(self, path: Path) -> Path:
        """The whole page (beyond the window) as a PNG."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            # The browser's helpers (zygote, renderers) are in its own session.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

"""A real browser for the tests: headless Chromium (Debian's `chromium`, installed by `make setup`)
driven over the DevTools protocol. It loads a page, records every console error, uncaught exception
and network request, reads the DOM, and takes a screenshot.

Also a script: `python tests/browser.py PAGE.html SHOT.png [WIDTH HEIGHT]` writes a screenshot
(how docs/class-report.png is made from the example class).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
START_SECONDS = 60  # a cold start on a loaded 2-core machine takes several seconds
LOAD_SECONDS = 60


class BrowserMissing(RuntimeError):
    """No headless Chromium on PATH: the browser tests fail, never skip."""


def executable() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("headless Chromium is not installed: run `make setup` (it runs "
                         "`apt-get install -y chromium`), or install your system's chromium package.")


@dataclass
class Page:
    """What the browser saw while loading one page."""
    url: str
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, failed loads
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, itself included
    screenshot: bytes = b""


class Chromium:
    """One headless Chromium and one tab, spoken to over the DevTools protocol (a websocket)."""

    def __init__(self, width: int = 1280, height: int = 1600):
        import websocket  # websocket-client, pinned in pyproject.toml

        program = executable()  # first: a missing browser leaves nothing behind
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="course-chromium-")
        flags = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
                 "--remote-debugging-port=0", f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]
        if os.geteuid() == 0:  # Chromium refuses to run its own sandbox as root (CI runs as root)
            flags.append("--no-sandbox")
        self.log = open(Path(self.profile) / "stderr.log", "wb")
        self.process = subprocess.Popen([program, *flags, "about:blank"], stdout=subprocess.DEVNULL,
                                        stderr=self.log)
        port = self._port()
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=LOAD_SECONDS,
                                                  suppress_origin=True)
        self.next_id, self.events = 0, []

    def _port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}: "
                                   f"{(Path(self.profile) / 'stderr.log').read_text(errors='replace')[-2000:]}")
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError(f"chromium did not open its DevTools port within {START_SECONDS} s")

    def send(self, method: str, **params) -> dict:
        """Call one DevTools method and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, seconds: float = LOAD_SECONDS) -> dict:
        deadline = time.monotonic() + seconds
        for i, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("method") == event:
                return message
            self.events.append(message)
            if message.get("method") == "Page.javascriptDialogOpening":  # an alert() would block the load
                self.next_id += 1
                self.socket.send(json.dumps({"id": self.next_id, "method": "Page.handleJavaScriptDialog",
                                             "params": {"accept": False}}))
        raise TimeoutError(f"no {event} within {seconds} s")

    def load(self, path: Path, javascript: bool = True, full_page: bool = False) -> Page:
        """Load a file, wait for its load event, and screenshot it (the viewport, or the whole page)."""
        url = Path(path).resolve().as_uri()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setScriptExecutionDisabled", value=not javascript)
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        page = Page(url, screenshot=base64.b64decode(shot["data"]))
        for message in self.events:
            page.errors += _error(message)
            if message.get("method") == "Network.requestWillBeSent":
                page.requests.append(message["params"]["request"]["url"])
        return page

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (DevTools runs it even with the page's scripts off)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


def _error(message: dict) -> list[str]:
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return [f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])]
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return [f"uncaught: {details.get('exception', {}).get('description') or details.get('text')}"]
    if method == "Log.entryAdded" and params["entry"].get("level") == "error":
        return [f"{params['entry'].get('source')}: {params['entry'].get('text')} {params['entry'].get('url', '')}".strip()]
    if method == "Page.javascriptDialogOpening":
        return [f"a script opened a {params.get('type')} dialog: {params.get('message')}"]
    if method == "Network.loadingFailed":
        return [f"failed to load: {params.get('errorText')}"]
    return []


@contextmanager
def chromium(width: int = 1280, height: int = 1600):
    browser = Chromium(width, height)
    try:
        yield browser
    finally:
        browser.close()


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1600) -> Page:
    """Load `page` with JavaScript off and write a screenshot of its top to `png`."""
    with chromium(width, height) as browser:
        loaded = browser.load(page, javascript=False)
    Path(png).write_bytes(loaded.screenshot)
    return loaded


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit("usage: python tests/browser.py PAGE.html SHOT.png [WIDTH HEIGHT]")
    size = tuple(map(int, sys.argv[3:5])) if len(sys.argv) == 5 else (1280, 1600)
    seen = screenshot(Path(sys.argv[1]), Path(sys.argv[2]), *size)
    for error in seen.errors:
        print(f"browser: {error}", file=sys.stderr)
    print(sys.argv[2])
    sys.exit(1 if seen.errors else 0)

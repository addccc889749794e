"""End to end: the published pages in headless Chromium (Debian's chromium package).

The publication is served from a thread-bound http.server on 127.0.0.1; Chromium is driven over
the DevTools protocol (websocket-client) to collect console messages, uncaught exceptions and
failed loads, to measure the rendered charts, to check that a phone-width viewport does not
scroll sideways, to print to PDF, and to save screenshots under ``test-output/browser/``.
Skipped with a message where chromium is not installed (``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from indexcalc.publish.serve import make_server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "browser"
STARTUP_SECONDS = 30
LOAD_SECONDS = 30
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
]


class DevTools:
    """A minimal DevTools-protocol client for one page: send commands, keep every event."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=LOAD_SECONDS, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise TimeoutError(method)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(method)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and failed loads seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                texts = (str(arg.get("value", arg.get("description"))) for arg in params["args"])
                found.append("console: " + " ".join(texts))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                description = details.get("exception", {}).get("description", "")
                found.append(f"exception: {details.get('text', '')} {description}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')}")
        return found

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def served_site(published_site):
    server = make_server(published_site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with DevTools on a free loopback port; yields its HTTP endpoint."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get update && apt-get install -y chromium")
    pytest.importorskip("websocket", reason="websocket-client not installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start its DevTools endpoint (exit code {process.poll()})")
            time.sleep(0.1)
        yield f"127.0.0.1:{port_file.read_text().splitlines()[0]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def open_page(browser: str, url: str, width: int, height: int = 900, mobile: bool = False) -> DevTools:
    """A new tab of ``width`` css pixels, ``url`` loaded (load event fired, fonts settled)."""
    import urllib.request

    request = urllib.request.Request(f"http://{browser}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=LOAD_SECONDS) as response:
        target = json.loads(response.read())
    page = DevTools(target["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.call(f"{domain}.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
    page.call("Page.navigate", url=url)
    page.wait_for("Page.loadEventFired")
    page.call("Runtime.evaluate", expression="document.fonts.ready.then(() => true)", awaitPromise=True)
    return page


def evaluate(page: DevTools, expression: str):
    result = page.call("Runtime.evaluate", expression=expression, returnByValue=True)
    return result["result"].get("value")


def screenshot(page: DevTools, name: str) -> Path:
    """Full-page PNG under test-output/browser/."""
    size = page.call("Page.getLayoutMetrics")["cssContentSize"]
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                     clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


CHART_SIZES = """Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
          shapes: svg.querySelectorAll('path, image, text').length};
})"""


@pytest.mark.slow
def test_index_page_loads_without_errors_and_links_every_factsheet(browser, served_site, fabricated_results):
    page = open_page(browser, f"{served_site}/index.html", width=1200)
    try:
        assert page.problems() == []
        hrefs = evaluate(page, "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))")
        assert {f"factsheets/{index_id}.html" for index_id in fabricated_results} <= set(hrefs)
        assert evaluate(page, "document.querySelectorAll('tr[data-index]').length") == len(fabricated_results)
        assert screenshot(page, "index").stat().st_size > 10_000
    finally:
        page.close()


@pytest.mark.slow
def test_factsheet_renders_its_charts_without_console_errors(browser, served_site):
    page = open_page(browser, f"{served_site}/factsheets/BM-IV-ER.html", width=1200)
    try:
        assert page.problems() == []
        charts = evaluate(page, CHART_SIZES)
        labels = [chart["label"] for chart in charts]
        assert labels == ["Index level since inception", "Drawdown from the running peak", "Monthly returns heatmap",
                          "Weights by sector"]
        for chart in charts:  # one sector: a one-bar chart, short
            tall = 50 if chart["label"] == "Weights by sector" else 100
            assert chart["width"] > 300 and chart["height"] > tall and chart["shapes"] > 10, chart
        path = screenshot(page, "factsheet-BM-IV-ER")
        assert path.stat().st_size > 50_000
        pdf = page.call("Page.printToPDF", printBackground=True, preferCSSPageSize=True)
        pdf_bytes = base64.b64decode(pdf["data"])
        assert pdf_bytes.startswith(b"%PDF") and len(pdf_bytes) > 20_000
        (SCREENSHOTS / "factsheet-BM-IV-ER.pdf").write_bytes(pdf_bytes)
    finally:
        page.close()
    detail = open_page(browser, f"{served_site}/factsheets/BM-IV-ER-detail.html", width=1200)
    try:
        assert detail.problems() == []
        assert [chart["label"] for chart in evaluate(detail, CHART_SIZES)] == ["Correlation matrix"]
    finally:
        detail.close()


@pytest.mark.slow
def test_factsheet_fits_a_phone_screen(browser, served_site):
    page = open_page(browser, f"{served_site}/factsheets/LS-ER.html", width=390, height=844, mobile=True)
    try:
        assert page.problems() == []
        assert evaluate(page, "document.documentElement.scrollWidth") <= 390
        charts = evaluate(page, CHART_SIZES)
        assert all(0 < chart["width"] <= 390 for chart in charts)
        screenshot(page, "factsheet-LS-ER-phone")
    finally:
        page.close()


@pytest.mark.slow
def test_the_checks_see_console_errors_failed_loads_and_sideways_scrolling(browser, tmp_path):
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><link rel="icon" href="data:,"></head><body>'
        '<div style="width:2000px">wide</div><img src="missing.png">'
        '<script>console.error("boom"); undefinedFunction();</script></body></html>'
    )
    server = make_server(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = open_page(browser, f"http://127.0.0.1:{server.server_address[1]}/index.html", width=390, mobile=True)
    try:
        problems = page.problems()
        assert any(problem.startswith("console: boom") for problem in problems), problems
        assert any("undefinedFunction" in problem for problem in problems), problems
        assert any("404" in problem for problem in problems), problems
        assert evaluate(page, "document.documentElement.scrollWidth") > 390
    finally:
        page.close()
        server.shutdown()
        server.server_close()


# --- every factsheet of the catalogue: layout at 1280 and 390 px, print on A4 -----------------

PRINTED_ON_TWO_PAGES = ("LS-ER", "LO-TR", "CARRY-RANK-GLOBAL-ER", "BM-IV-ER", "CU-MACRO-ER")
MIN_CHART_TEXT_PX = 10.0

TABLE_OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const table of document.querySelectorAll('main table')) {
    const box = table.closest('.scroll');
    const outer = (box || table).getBoundingClientRect();
    if (outer.right > width + 0.5 || outer.left < -0.5)
      found.push({id: table.id || table.dataset.table || '', problem: 'wider than the page', right: outer.right});
    if (!box && table.scrollWidth > table.clientWidth + 1)
      found.push({id: table.id || table.dataset.table || '', problem: 'content wider than the table'});
  }
  return found;
})()"""

SCROLLING_BOXES = """Array.from(document.querySelectorAll('main .scroll'))
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => (box.querySelector('table') || {}).id || (box.querySelector('table') || {dataset: {}}).dataset.table)"""

SMALLEST_CHART_TEXT = """(() => {
  let smallest = Infinity, where = '';
  for (const text of document.querySelectorAll('svg.chart text')) {
    if (text.getClientRects().length === 0 || !text.textContent.trim()) continue;  // not displayed
    const matrix = text.getScreenCTM();
    const size = parseFloat(getComputedStyle(text).fontSize) * Math.hypot(matrix.a, matrix.b);
    if (size < smallest) { smallest = size; where = text.closest('svg').getAttribute('aria-label') + ': ' + text.textContent; }
  }
  return {smallest: smallest === Infinity ? null : smallest, where};
})()"""


@pytest.fixture(scope="module")
def catalogue_site(tmp_path_factory, embedded_results, embedded_market, embedded_inputs):
    """Every factsheet of the catalogue on the embedded market, served on loopback."""
    from indexcalc.publish import write_publication

    out_dir = tmp_path_factory.mktemp("catalogue-site")
    write_publication(embedded_results, embedded_market, out_dir, embedded_inputs)
    server = make_server(out_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sorted(embedded_results)
    server.shutdown()
    server.server_close()


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: its ``/Type /Page`` objects (not ``/Pages``)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_pdf_pages_counts_page_objects_only():
    assert pdf_pages(b"<< /Type /Pages /Kids [1 0 R 2 0 R] >> << /Type /Page >> <</Type/Page/Parent 3 0 R>>") == 2


@pytest.mark.slow
def test_every_factsheet_fits_1280_and_390_px_with_readable_chart_text(browser, catalogue_site):
    url, index_ids = catalogue_site
    problems = []
    for index_id in index_ids:
        for page_name in (f"{index_id}.html", f"{index_id}-detail.html"):
            for width, mobile in ((1280, False), (390, True)):
                page = open_page(browser, f"{url}/factsheets/{page_name}", width=width, height=900, mobile=mobile)
                try:
                    where = f"{page_name} at {width} px"
                    if page.problems():
                        problems.append((where, page.problems()))
                    if evaluate(page, "document.documentElement.scrollWidth") > width:
                        problems.append((where, "the page scrolls sideways"))
                    overflow = evaluate(page, TABLE_OVERFLOW)
                    if overflow:
                        problems.append((where, overflow))
                    if width == 1280:
                        scrolling = evaluate(page, SCROLLING_BOXES)
                        if scrolling:
                            problems.append((where, f"tables scroll sideways: {scrolling}"))
                    else:
                        text = evaluate(page, SMALLEST_CHART_TEXT)
                        if text["smallest"] is not None and text["smallest"] < MIN_CHART_TEXT_PX:
                            problems.append((where, f"chart text {text['smallest']:.1f} px ({text['where']})"))
                    if index_id == "LS-ER":
                        screenshot(page, f"{page_name.removesuffix('.html')}-{width}")
                finally:
                    page.close()
    assert problems == []


@pytest.mark.slow
def test_factsheets_print_on_at_most_two_a4_pages(browser, catalogue_site):
    url, index_ids = catalogue_site
    counted = {}
    for index_id in PRINTED_ON_TWO_PAGES:
        assert index_id in index_ids
        page = open_page(browser, f"{url}/factsheets/{index_id}.html", width=1280)
        try:
            pdf = base64.b64decode(page.call("Page.printToPDF", printBackground=True, preferCSSPageSize=True)["data"])
            counted[index_id] = pdf_pages(pdf)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / f"factsheet-{index_id}.pdf").write_bytes(pdf)
        finally:
            page.close()
    assert all(1 <= pages <= 2 for pages in counted.values()), counted


A4_CONTENT_PX = 703
"""Width of an A4 page inside the print margins (210 - 2 x 12 mm at 96 px per inch)."""


@pytest.mark.slow
def test_detail_pages_print_without_cut_columns(browser, catalogue_site):
    url, index_ids = catalogue_site
    cut = {}
    for index_id in index_ids:
        page = open_page(browser, f"{url}/factsheets/{index_id}-detail.html", width=A4_CONTENT_PX)
        try:
            page.call("Emulation.setEmulatedMedia", media="print")
            # printed, a table wider than its box would be cut at the page edge
            overflowing = evaluate(page, SCROLLING_BOXES) + evaluate(page, TABLE_OVERFLOW)
            if overflowing:
                cut[index_id] = overflowing
        finally:
            page.close()
    assert cut == {}

"""Checks of a finished run's HTML report: its text and embedded images (parsed), and the page in headless Chromium.

The browser is driven over the Chrome DevTools Protocol on a pipe (``--remote-debugging-pipe``: JSON messages ended
by a NUL byte on file descriptors 3 and 4), so no websocket client or playwright is needed, only Debian's
``chromium`` (tests/browser/install-chromium.sh)."""

from __future__ import annotations

import base64
import fcntl
import html.parser
import io
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest

CAPTIONS = Path(__file__).resolve().parents[1] / "report/captions"
REPORT = "results/report/report.html"
SCREENSHOT = "results/report/screenshot.png"
SECTIONS = (  # (anchor, start of the title, what it must hold: numbers in its text and/or images) of an NWB run
    ("cells", "Cells per species and subclass", "numbers+image"),
    ("retention", "Retention and failure reasons", "numbers"),
    ("sweeps", "Sweeps per stimulus type", "numbers"),
    ("spike-detection", "Spike detection", "numbers"),
    ("traces", "Example traces", "image"),
    ("features-mouse", "Feature distributions (mouse)", "image"),
    ("features-human", "Feature distributions (human)", "image"),
    ("alignment", "Cross-species feature alignment", "numbers"),
    ("species-shift", "Cross-species shift per shared feature", "numbers+image"),
    ("baselines", "Baselines", "numbers+image"),
    ("transfer", "Attention BiLSTM and mouse -> human transfer", "numbers+image"),
    ("calibration", "Calibration and confusion of the human models", "numbers+image"),
    ("embedding", "Learned embedding of both species", "numbers+image"),
    ("unlabelled", "Predicted subclass of unlabelled cells", "numbers"),
    ("provenance", "Provenance", "numbers"),
)
PLACEHOLDERS = re.compile(r"\b(TODO|TBD|XXX|None|NaN|nan|null|undefined)\b|\{[a-z_]+\}|\?\?")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
)


# --- the HTML, parsed --------------------------------------------------------------------------------------------


@dataclass
class _Section:
    anchor: str
    title: str = ""
    text: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (alt, src)


class _ReportParser(html.parser.HTMLParser):
    """Splits the report into its <section>s: title, visible text, <img>s; images outside sections are kept too."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[_Section] = []
        self.loose_images: list[tuple[str, str]] = []
        self._current: _Section | None = None
        self._in_title = self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._current = _Section(a.get("id") or "")
            self.sections.append(self._current)
        elif tag == "h2" and self._current is not None:
            self._in_title = True
        elif tag in ("style", "script"):
            self._in_style = True
        elif tag == "img":
            (self._current.images if self._current else self.loose_images).append((a.get("alt", ""), a.get("src", "")))

    def handle_endtag(self, tag):
        if tag == "section":
            self._current = None
        elif tag == "h2":
            self._in_title = False
        elif tag in ("style", "script"):
            self._in_style = False

    def handle_data(self, data):
        if self._current is None or self._in_style:
            return
        if self._in_title:
            self._current.title += data
        elif data.strip():
            self._current.text.append(data.strip())


def decode_image(src: str) -> tuple[str, int, int]:
    """(format, width, height) of a data: URI image; AssertionError when it is not a decodable PNG or SVG."""
    match = re.fullmatch(r"data:(image/png|image/svg\+xml)(;base64)?,(.*)", src, re.S)
    assert match, f"not an embedded PNG/SVG data URI: {src[:60]!r}"
    mime, is_b64, payload = match.groups()
    data = base64.b64decode(payload, validate=True) if is_b64 else payload.encode()
    if mime == "image/png":
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes every pixel: a truncated PNG fails here
            assert image.format == "PNG"
            return "png", *image.size
    root = ElementTree.fromstring(data)
    assert root.tag.endswith("svg"), root.tag
    return "svg", int(float(re.sub(r"[a-z]+$", "", root.get("width", "1")))), 1


ARCHIVE_SECTIONS = tuple(s for s in SECTIONS if s[0] != "spike-detection")  # recorded cells: no true spike times


def report_sections(run: Path) -> dict[str, _Section]:
    """The report's sections by anchor: title, visible text (one string per text node), images."""
    parser = _ReportParser()
    parser.feed((Path(run) / REPORT).read_text())
    return {s.anchor: s for s in parser.sections}


def table_row(section: _Section, first: str, n_values: int) -> list[str]:
    """The ``n_values`` text cells after the cell ``first`` (a table row's header) in a section's text."""
    i = section.text.index(first)
    return section.text[i + 1 : i + 1 + n_values]


def retention_row(section: _Section, species: str) -> dict[str, int]:
    """A species' row of the retention table (column -> cells): the column headers come first in the section's
    text, then the index name ``species``, then one row per species."""
    columns = section.text[: section.text.index("species")]
    return dict(zip(columns, map(int, table_row(section, species, len(columns)))))


def check_report_html(run: Path, sections=SECTIONS) -> None:
    """Every section of ``sections`` present, in order, with numbers and no placeholders; every <img> an embedded,
    decodable PNG or SVG."""
    page = (Path(run) / REPORT).read_text()
    parser = _ReportParser()
    parser.feed(page)
    found = {s.anchor: s for s in parser.sections}
    assert list(found) == [anchor for anchor, _, _ in sections], list(found)  # all there, in this order
    for anchor, title, needs in sections:
        section, text = found[anchor], " ".join(found[anchor].text)
        assert section.title.startswith(title), (anchor, section.title)
        if "numbers" in needs:
            assert re.search(r"\d", text), f"section {title!r} has no numbers: {text[:200]!r}"
        if "image" in needs:
            assert section.images, f"section {title!r} has no figure"
        placeholder = PLACEHOLDERS.search(section.title + " " + text)
        assert placeholder is None, f"placeholder {placeholder.group()!r} in section {title!r}: {text[:300]!r}"
    assert not parser.loose_images, "images outside the sections"
    images = [(s.title, alt, src) for s in parser.sections for alt, src in s.images]
    assert len(images) >= 8, [(t, a) for t, a, _ in images]
    for title, alt, src in images:
        kind, width, height = decode_image(src)
        assert width >= 100 and height >= 1, (title, alt, kind, width, height)
        assert alt, f"image without alt text in {title!r}"
    figures = Path(run) / "results/report/figures"
    pngs = sorted(figures.glob("*.png"))
    assert len(pngs) == len(images)  # one embedded image per figure file
    assert {p.stem for p in pngs} == {p.stem for p in figures.glob("*.svg")}  # each figure as PNG and SVG


# --- the page in headless Chromium -------------------------------------------------------------------------------


def find_chromium() -> str:
    """Path of Chromium ($CHROMIUM, or chromium / chromium-browser on the PATH); skip the test where there is none."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        path = name and shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium: run tests/browser/install-chromium.sh (Debian package chromium)")


def _high_fd(fd: int) -> int:
    """``fd`` moved to a number >= 10 (clear of fds 3 and 4, which the shell below sets up)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """A minimal Chrome DevTools Protocol client on the pipe of ``--remote-debugging-pipe``."""

    def __init__(self, chromium: str, profile: Path, timeout: float = 60) -> None:
        to_browser_r, self._to_browser = map(_high_fd, os.pipe())
        self._from_browser, from_browser_w = map(_high_fd, os.pipe())
        # the browser reads commands on fd 3 and writes replies and events on fd 4
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", script, chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout, self.events, self._buffer, self._next_id = timeout, [], b"", 0

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its reply (events that arrive meanwhile are kept in ``events``)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError(f"no reply from Chromium in {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                err = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None else ""
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self.process.poll()}): {err[-2000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        os.close(self._to_browser)
        os.close(self._from_browser)


IMAGES_JS = """Promise.all([...document.images].map(async (img) => {
  let decoded = true;
  try { await img.decode(); } catch (e) { decoded = false; }
  return {alt: img.alt, complete: img.complete, decoded: decoded, width: img.naturalWidth, height: img.naturalHeight,
          shown: img.getBoundingClientRect().width};
}))"""
PAGE_JS = """({title: document.title, sections: [...document.querySelectorAll('section h2')].map(h => h.textContent),
  height: document.documentElement.scrollHeight, text: document.body.innerText.length})"""


@dataclass
class PageCheck:
    title: str
    sections: list[str]
    images: list[dict]
    errors: list[str]  # JavaScript exceptions, console errors and failed loads
    height: int
    seconds: float


def open_in_chromium(page: Path, screenshot: Path, timeout: float = 60) -> PageCheck:
    """Load ``page`` (file://) in headless Chromium at 1280x900; collect JavaScript errors, console errors, failed
    loads and every <img>'s decoded size; save a PNG screenshot of the first screen."""
    chromium = find_chromium()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = DevTools(chromium, Path(profile), timeout)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            metrics = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
            browser.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
            browser.send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
            browser.wait_for("Page.loadEventFired")
            evaluate = {"awaitPromise": True, "returnByValue": True}
            images = browser.send("Runtime.evaluate", {"expression": IMAGES_JS, **evaluate}, session=session)
            info = browser.send("Runtime.evaluate", {"expression": PAGE_JS, **evaluate}, session=session)
            shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            browser.send("Runtime.evaluate", {"expression": "0"}, session=session)  # flush late events
        finally:
            browser.close()
    errors = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(f"JavaScript: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            errors.append(f"load failed: {params.get('errorText')} ({params.get('type')})")
    value = info["result"]["value"]
    return PageCheck(
        title=value["title"],
        sections=value["sections"],
        images=images["result"]["value"],
        errors=errors,
        height=value["height"],
        seconds=time.monotonic() - start,
    )


def check_report_in_browser(run: Path) -> PageCheck:
    """The report loads in headless Chromium without JavaScript errors or failed loads, every image decodes and is
    displayed; the first screen is saved as results/report/screenshot.png."""
    result = open_in_chromium(Path(run) / REPORT, Path(run) / SCREENSHOT)
    assert not result.errors, result.errors
    assert result.title.startswith("Patch-seq"), result.title
    assert [s[: len(title)] for s, (_, title, _) in zip(result.sections, SECTIONS)] == [t for _, t, _ in SECTIONS]
    assert len(result.images) >= 8
    broken = [i for i in result.images if not (i["complete"] and i["decoded"] and i["width"] > 0 and i["shown"] > 0)]
    assert not broken, broken
    assert result.height > 900  # a long page, not an error page
    from PIL import Image

    with Image.open(Path(run) / SCREENSHOT) as shot:
        assert shot.size == (1280, 900)
        assert len(shot.convert("L").getcolors(1 << 16) or range(1 << 16)) > 16  # not blank: text and a figure
    return result


# --- snakemake --report ------------------------------------------------------------------------------------------


def check_snakemake_report(run: Path, browser: bool = True) -> Path:
    """``snakemake --report results/report.zip`` on the finished run: the zip holds report.html and every figure (PNG)
    with its own caption; its viewer (Snakemake's report page) loads in Chromium without JavaScript errors."""
    import zipfile

    from workflow_runner import snakemake

    from patchseq_ml.present import figures

    snakemake(run, "--report", "results/report.zip")
    archive = Path(run) / "results/report.zip"
    names = zipfile.ZipFile(archive).namelist()
    pngs = sorted(p.name for p in (Path(run) / "results/report/figures").glob("*.png"))
    packed = sorted(Path(n).name for n in names if n.startswith("report/data/raw/") and n.endswith(".png"))
    assert packed == pngs, (packed, pngs)
    assert any(n.endswith("/report.html") and n.startswith("report/data/raw/") for n in names)
    with tempfile.TemporaryDirectory() as unpacked:
        zipfile.ZipFile(archive).extractall(unpacked)
        viewer = Path(unpacked) / "report/report.html"
        page = viewer.read_text()
        assert "Patch-seq electrophysiology to transcriptomic subclass" in page  # report/workflow.rst
        assert "System Message" not in page and "include::" not in page  # every caption rendered
        for stem in {figures.split_name(Path(p).stem, ["mouse", "human"])[0] for p in pngs}:
            assert stem in figures.FIGURES, f"figure {stem} has no category and caption (present/figures.py)"
            assert figures.FIGURES[stem][1] in page  # its label
            caption = " ".join((CAPTIONS / f"{stem}.rst").read_text().split()[:5])
            assert caption in page, f"caption of {stem} not in the report"
        if browser:
            result = open_in_chromium(viewer, Path(run) / "results/report/screenshot_snakemake_report.png")
            assert not result.errors, result.errors
            assert result.title == "Snakemake Report", result.title
    return archive

"""The HTML report in headless Chromium (JavaScript errors, broken images, a screenshot), parsed, and packed by
``snakemake --report``.

The checks of a finished run (report_checks.py) run in the end-to-end module, test_workflow_tiny.py, on its run;
here they run on an existing run folder named by PATCHSEQ_RUN (skipped where unset), e.g. while working on the report:
``PATCHSEQ_RUN=/tmp/tinyrun .venv/bin/python -m pytest tests/integration/test_report_browser.py``. The checks of the
checkers (a page with a JavaScript error and a broken image must fail) need Chromium only."""

import base64
import os
from pathlib import Path

import pytest
from report_checks import (
    check_report_html,
    check_report_in_browser,
    check_snakemake_report,
    decode_image,
    open_in_chromium,
)

PNG_1X1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="  # 1x1 pixel
)


@pytest.fixture(scope="module")
def finished_run() -> Path:
    run = os.environ.get("PATCHSEQ_RUN")
    if not run:
        pytest.skip("PATCHSEQ_RUN (a finished run folder) not set; test_workflow_tiny.py runs these checks")
    path = Path(run)
    if not (path / "results/report/report.html").exists():
        pytest.fail(f"PATCHSEQ_RUN={run} has no results/report/report.html")
    return path


def test_finished_report_sections_and_images(finished_run):
    check_report_html(finished_run)


def test_finished_report_in_chromium(finished_run):
    result = check_report_in_browser(finished_run)
    assert (finished_run / "results/report/screenshot.png").stat().st_size > 10_000
    assert result.seconds < 60


def test_finished_run_snakemake_report_zip(finished_run):
    assert check_snakemake_report(finished_run).stat().st_size > 100_000


def test_browser_check_sees_javascript_errors_and_broken_images(tmp_path):
    good, broken = f"data:image/png;base64,{PNG_1X1}", f"data:image/png;base64,{PNG_1X1[:40]}"
    page = tmp_path / "page.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><title>t</title></head><body><h1>t</h1><img alt="good" src="{good}">'
        f'<img alt="broken" src="{broken}"><img alt="missing" src="missing.png">'
        "<script>console.error('logged'); undefinedFunction();</script></body></html>"
    )
    result = open_in_chromium(page, tmp_path / "shot.png")
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {i["alt"]: i["width"] for i in result.images} == {"good": 1, "broken": 0, "missing": 0}
    assert not next(i for i in result.images if i["alt"] == "broken")["decoded"]
    text = "\n".join(result.errors)
    assert "undefinedFunction is not defined" in text and "console: logged" in text, text
    assert "missing.png" in text or "ERR_FILE_NOT_FOUND" in text, text


def test_clean_page_has_no_errors(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(f'<!DOCTYPE html><html><body><img alt="a" src="data:image/png;base64,{PNG_1X1}"></body></html>')
    result = open_in_chromium(page, tmp_path / "shot.png")
    assert result.errors == [] and result.images[0]["decoded"]


def test_decode_image_refuses_truncated_png_and_non_images():
    assert decode_image(f"data:image/png;base64,{PNG_1X1}") == ("png", 1, 1)
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="120pt" height="80pt"/>').decode()
    assert decode_image(f"data:image/svg+xml;base64,{svg}")[0] == "svg"
    truncated = base64.b64encode(base64.b64decode(PNG_1X1)[:40]).decode()
    with pytest.raises(Exception):  # noqa: B017 (PIL raises OSError or SyntaxError, by the kind of damage)
        decode_image(f"data:image/png;base64,{truncated}")
    with pytest.raises(AssertionError):
        decode_image("https://example.org/figure.png")

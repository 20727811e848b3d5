"""Every figure the report code writes has a category, a title and a caption for `snakemake --report`, and the
captions render as Snakemake renders them (Jinja, then reStructuredText) without a warning."""

import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from docutils.core import publish_parts

from patchseq_ml.present import figures

ROOT = Path(__file__).resolve().parents[2]
CAPTIONS = ROOT / "report/captions"
SPECIES = ["mouse", "human"]


def _written_figure_stems() -> set[str]:
    """Stems of the figures the present/ code saves (``figures / "name"`` or ``figures / f"name_{species}"``)."""
    stems = set()
    for path in (ROOT / "workflow_scripts/patchseq_ml/present").glob("*.py"):
        for name in re.findall(r'figures / f?"([a-z_]+?)(?:_\{species\})?"', path.read_text()):
            stems.add(name)
    return stems


def test_every_written_figure_is_registered_with_a_caption():
    written = _written_figure_stems()
    assert len(written) >= 6, written
    assert written == set(figures.FIGURES)
    captions = {p.stem for p in CAPTIONS.glob("*.rst")} - {"figure", "report_html"}
    assert captions == set(figures.FIGURES)


@pytest.mark.parametrize(
    "name,stem,species,category",
    [
        ("feature_distributions_mouse", "feature_distributions", "mouse", "1. Data"),
        ("confusion_baseline_human", "confusion_baseline", "human", "2. Baselines"),
        ("learning_curve", "learning_curve", "", "3. Transfer"),
        ("something_new_mouse", "something_new_mouse", "", "5. Other"),
    ],
)
def test_split_name_and_category(name, stem, species, category):
    assert figures.split_name(name, SPECIES) == (stem, species)
    assert figures.category(name, SPECIES) == category
    assert figures.labels(name, SPECIES)["species"] == (species or "all")


def _render(template: Path, **context) -> str:
    """As snakemake.report does: a Jinja template (trim_blocks, lstrip_blocks), then docutils to HTML; here a
    warning of docutils is an error (Snakemake passes writer_name, deprecated in docutils 0.22)."""
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    text = env.from_string(template.read_text()).render(**context)
    return publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]


@pytest.mark.parametrize("name", ["cells_per_subclass", "feature_distributions_human", "attention_by_class"])
def test_figure_caption_includes_the_figures_own_caption(name):
    snakemake = SimpleNamespace(
        wildcards=SimpleNamespace(name=name), params=SimpleNamespace(species=SPECIES, captions=str(CAPTIONS))
    )
    body = _render(CAPTIONS / "figure.rst", snakemake=snakemake)
    stem, species = figures.split_name(name, SPECIES)
    first_words = " ".join((CAPTIONS / f"{stem}.rst").read_text().split()[:4])
    assert first_words in body
    assert (f"Species: {species}." if species else "All species.") in body


def test_workflow_description_and_report_caption_render():
    config = {"source": "simulated", "splits": {"seeds": [0, 1]}}
    body = _render(ROOT / "report/workflow.rst", snakemake=SimpleNamespace(config=config))
    assert "simulated source" in body and "[0, 1]" in body
    assert "report" in _render(CAPTIONS / "report_html.rst")

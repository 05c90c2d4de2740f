"""The notebook's prose says what the numbers say.

Most of the notebook's claims about its own run are formatted from the run's
variables ("What this run measured" cells). The few numbers its prose quotes
from elsewhere, and the verdicts those cells print, are checked here against
their sources: ``assets/report.md`` (a full run of ``aelib report``) and the
notebook's committed outputs (a full run of the notebook). Nothing is
executed, so these tests take milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "autoencoders.ipynb"
REPORT = ROOT / "assets" / "report.md"


def _prose(nb) -> str:
    """All markdown cells, whitespace collapsed (line breaks fall anywhere)."""
    return " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def _markdown_outputs(nb) -> list[str]:
    return ["".join(o["data"]["text/markdown"]) for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]


def _one_class_table() -> dict[str, list[float]]:
    """Row label -> the ten digits' ROC AUCs and their mean, from assets/report.md."""
    text = REPORT.read_text()
    section = text[text.index("## Beyond the article: anomaly detection"):]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and re.fullmatch(r"0\.\d{3}", cells[-1]):
            rows[cells[0]] = [float(c) for c in cells[1:]]
    return rows


def test_anomaly_prose_quotes_the_report():
    """Section 13 quotes the ten-digit means of assets/report.md and counts the digits
    on which PCA and the conv autoencoder are each ahead."""
    rows = _one_class_table()
    dense, conv, pca = rows["dense autoencoder"], rows["conv autoencoder"], rows["PCA, 16 components"]
    prose = _prose(nbformat.read(NOTEBOOK, as_version=4))
    assert f"({pca[-1]:.3f} against {conv[-1]:.3f};" in prose
    assert f"ahead of both ({dense[-1]:.3f})" in prose
    assert pca[-1] > conv[-1] and dense[-1] > pca[-1], "the prose says PCA edges out conv, dense leads"
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    pca_ahead = sum(p > c for p, c in zip(pca[:10], conv[:10]))
    conv_ahead = sum(c > p for p, c in zip(pca[:10], conv[:10]))
    ties = 10 - pca_ahead - conv_ahead
    assert (f"PCA is ahead on {words[pca_ahead]} digits, the conv model on {words[conv_ahead]}"
            f"{f', one a tie' if ties == 1 else ''})") in prose
    assert f"a gap of {pca[-1] - conv[-1]:.3f}" in prose


def test_committed_generation_verdict_follows_the_table():
    """The verdict on the article's claim (the conv autoencoder generates worse than the
    dense one) agrees with the claims table above it."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    outputs = _markdown_outputs(nb)
    tables = [t for t in outputs if t.startswith("| model | test MSE |")]
    if not tables:
        pytest.skip("the committed notebook has no outputs")
    confident = {}
    for line in tables[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        confident[cells[0]] = float(cells[4].rstrip("%"))
    verdicts = [t for t in outputs if "The article's claim that the convolutional autoencoder" in t]
    assert len(verdicts) == 1
    holds = confident["conv autoencoder"] < confident["dense autoencoder"]
    assert ("** holds in this run" if holds else "** does not hold in this run") in verdicts[0]


def test_committed_measurements_are_there():
    """Every "What this run measured" cell ran in the committed full run, on full MNIST."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "What this run measured" in c.source]
    assert len(cells) >= 7
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        pytest.skip("the committed notebook has no outputs")
    for cell in cells:
        texts = ["".join(o["data"]["text/markdown"]) for o in cell.outputs if "text/markdown" in o.get("data", {})]
        assert texts and "What this run measured" in texts[0], cell.source.splitlines()[0]
    text = "\n".join(_markdown_outputs(nb))
    assert "the MNIST sample" not in text, "the committed outputs come from a quick run"

"""benchmarks/throughput.py's verdicts, from made-up results (no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from throughput import table  # noqa: E402


def result(best, first_s=1.0):
    return {"speeds": [best / 2, best], "first_s": first_s}


def test_verdicts_name_the_default_against_the_fastest_peer_and_each_backend():
    default = f"aelib.train, {keras.backend.backend()}, float32"
    results = {"dense": {"plain model.fit, jax": result(80.0, 1.0),
                         "aelib.train, jax, float32": result(88.0, 1.1),
                         f"plain model.fit, {keras.backend.backend()}": result(40.0, 2.0),
                         default: result(100.0, 1.0)}}
    text, verdicts = table(results, ["dense"])
    assert "| aelib.train, jax, float32 | 88 (66) | 1.10 |" in text
    assert verdicts[0].endswith("fastest peer (plain model.fit, jax) 80: **1.25x** (goal >= 1.0x)")
    assert "dense, jax: aelib.train 1.10x plain fit's images/s (goal >= 1.0x); first epoch 1.10x" \
        " plain fit's time (goal <= 1.2x)" in verdicts


def test_a_run_without_the_default_backend_still_gives_the_per_backend_verdicts():
    # --backends jax: no row of aelib's default, so no verdict against every peer
    results = {"conv": {"plain model.fit, jax": result(2000.0, 5.0),
                        "aelib.train, jax, float32": result(2100.0, 5.5)}}
    _, verdicts = table(results, ["conv"])
    assert verdicts == ["conv, jax: aelib.train 1.05x plain fit's images/s (goal >= 1.0x); "
                        "first epoch 1.10x plain fit's time (goal <= 1.2x)"]

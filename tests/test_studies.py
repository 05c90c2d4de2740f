"""The studies beyond the article that the figures and the report share."""

from __future__ import annotations

import json

import numpy as np
import pytest

import aelib
from aelib.cache import Run


#: the settings of the cached test model that ``counting_fit`` trains
SETTINGS = {"kind": "dense", "n_codings": 4, "epochs": 0}


def counting_fit(calls: list):
    """A ``fit`` for ``Run.trained``: a 4-coding dense model, each call's backup folder in ``calls``."""
    def fit(backup_dir):
        calls.append(backup_dir)
        return aelib.dense_autoencoder(n_codings=4, seed=0), {"train_seconds": 0.0}

    return fit


@pytest.mark.backends
class TestStudies:
    def test_codings_sweep(self, sample):
        mse = aelib.codings_sweep(sample.x_train[:400], sample.x_test[:100], sizes=(2,),
                                  kinds=("dense",), epochs=1, batch_size=200, seed=0)
        assert list(mse) == ["dense autoencoder", "PCA"]
        assert all(len(v) == 1 and 0 < v[0] < 0.2 for v in mse.values())
        with pytest.raises(ValueError, match="kind must be 'dense' or 'conv', got str 'vae'"):
            aelib.codings_sweep(sample.x_train[:400], sample.x_test[:100], kinds=("vae",))

    def test_run_trained_caches_models_of_any_recipe(self, sample, tmp_path):
        calls, messages = [], []
        fit, settings = counting_fit(calls), SETTINGS
        first = Run(sample, cache_dir=tmp_path).trained("test-dense-4", "test model", settings, fit)
        record = json.loads(next(tmp_path.glob("test-dense-4-*.json")).read_text())
        assert record["config"]["n_codings"] == 4 and "model" in record["files"]
        run = Run(sample, cache_dir=tmp_path, progress=messages.append)
        again = run.trained("test-dense-4", "test model", settings, fit)
        assert len(calls) == 1 and messages[0].startswith("test model: from the cache")
        assert calls[0].name.startswith("test-dense-4-") and calls[0].suffix == ".backup"
        assert not calls[0].exists()  # removed once the model is cached
        x = sample.x_test[:10]
        np.testing.assert_allclose(again.autoencoder.reconstruct(x), first.autoencoder.reconstruct(x))
        # a damaged file is a cache miss: trained again
        next(tmp_path.glob("test-dense-4-*.keras")).write_bytes(b"garbage")
        Run(sample, cache_dir=tmp_path, progress=messages.append).trained(
            "test-dense-4", "test model", settings, fit)
        assert len(calls) == 2 and "unusable" in messages[-1]
        with pytest.raises(ValueError, match="name must be letters, digits"):
            run.trained("a.b", "x", settings, fit)


def test_run_trained_refuses_a_cached_model_of_other_codings(sample, tmp_path):
    calls, messages = [], []
    fit, settings = counting_fit(calls), SETTINGS
    Run(sample, cache_dir=tmp_path).trained("test-dense-4", "test model", settings, fit)
    aelib.dense_autoencoder(n_codings=8, seed=0).save(next(tmp_path.glob("test-dense-4-*.keras")))
    record_path = next(tmp_path.glob("test-dense-4-*.json"))
    record = json.loads(record_path.read_text())
    del record["files"]  # no digests, which would catch the new file first
    record_path.write_text(json.dumps(record))
    Run(sample, cache_dir=tmp_path, progress=messages.append).trained(
        "test-dense-4", "test model", settings, fit)
    assert len(calls) == 2 and "has 8 codings, not 4" in messages[-1]

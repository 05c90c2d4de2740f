"""Classical denoisers, the baselines a denoising autoencoder is measured against."""

from __future__ import annotations

import numpy as np
import pytest

import aelib


class TestClassicalDenoisers:
    @pytest.mark.parametrize("method", list(aelib.denoising.CLASSICAL_GRIDS))
    def test_each_filter_denoises(self, digits, method):
        clean = digits[:40]
        noisy = aelib.add_noise(clean, 0.4, seed=0)
        parameter = {"median": 3, "gaussian": 1.0, "tv": 0.2, "nl_means": 0.15}[method]
        out = aelib.denoising.classical_denoise(noisy, method, parameter)
        assert out.shape == clean.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
        assert aelib.image_mse(out, clean) < 0.8 * aelib.image_mse(noisy, clean)

    def test_tuning_picks_from_the_grid_best_first(self, digits):
        clean = digits[:60]
        tuned = aelib.tune_classical(aelib.add_noise(clean, 0.4, seed=0), clean)
        assert sorted(d.method for d in tuned) == sorted(aelib.denoising.CLASSICAL_GRIDS)
        assert [d.train_mse for d in tuned] == sorted(d.train_mse for d in tuned)
        for d in tuned:
            assert d.parameter in aelib.denoising.CLASSICAL_GRIDS[d.method]
        best = tuned[0]
        noisy = aelib.add_noise(clean, 0.4, seed=0)
        assert aelib.image_mse(best(noisy), clean) == pytest.approx(best.train_mse)

    def test_bad_input(self, digits):
        with pytest.raises(ValueError, match=r"method must be one of \('median', "):
            aelib.denoising.classical_denoise(digits, "wiener", 1)
        with pytest.raises(ValueError, match="parameter must be a whole window size"):
            aelib.denoising.classical_denoise(digits, "median", 2.5)
        with pytest.raises(ValueError, match=r"clean must have the shape of noisy \(200, 28, 28, 1\)"):
            aelib.tune_classical(digits, digits[:10])

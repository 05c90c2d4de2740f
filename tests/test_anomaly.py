"""Anomaly scores from reconstruction errors, the PCA baseline and the threshold rule."""

from __future__ import annotations

import numpy as np
import pytest

import aelib


class TestAnomalyScores:
    def test_auc_of_a_perfect_and_a_reversed_scorer(self):
        flags = np.array([False] * 5 + [True] * 5)
        scores = np.arange(10.0)
        assert aelib.roc_auc(scores, flags) == 1.0
        assert aelib.roc_auc(-scores, flags) == 0.0
        with pytest.raises(ValueError, match="is_anomaly must flag some images as anomalies and some"):
            aelib.roc_auc(scores, np.zeros(10, bool))
        with pytest.raises(ValueError, match="is_anomaly must have one flag per score: scores has 10"):
            aelib.roc_auc(scores, flags[:5])

    def test_mean_std_threshold_and_its_decisions(self):
        assert aelib.mean_std_threshold([1.0, 3.0]) == pytest.approx(3.0)
        result = aelib.threshold_scores([0.1, 0.5, 0.8, 0.9, 0.2], [0, 0, 1, 1, 1], 0.4)
        assert result == aelib.anomaly.ThresholdScores(0.4, 0.6, 2 / 3, 2 / 3)
        with pytest.raises(ValueError, match="scores must be finite"):
            aelib.threshold_scores([np.nan], [1], 0.4)

    def test_one_class_split(self, sample):
        x_normal, x_test, is_anomaly = aelib.one_class_split(sample, 3)
        assert len(x_normal) == int((sample.y_train == 3).sum()) == 600
        np.testing.assert_array_equal(is_anomaly, sample.y_test != 3)
        assert x_test is sample.x_test
        with pytest.raises(ValueError, match="digit must be an integer label 0..9, got int 10"):
            aelib.one_class_split(sample, 10)

    def test_pca_baseline(self, sample):
        x_fit, x = sample.x_train[:500], sample.x_test[:50]
        errors = [aelib.pca_reconstruction_errors(x_fit, x, n) for n in (2, 16, 64)]
        assert all(e.shape == (50,) and (e >= 0).all() for e in errors)
        assert errors[0].mean() > errors[1].mean() > errors[2].mean()
        assert aelib.pca_reconstruction_errors(x_fit, x_fit, 500).max() < 1e-8  # every component
        with pytest.raises(ValueError, match=r"n_components=501 must be between 0 and min\(n_samples, n_features\)=500"):
            aelib.pca_reconstruction_errors(x_fit, x, 501)
        with pytest.raises(ValueError, match=r"x must hold images of shape \(28, 28, 1\)"):
            aelib.pca_reconstruction_errors(x_fit, np.zeros((2, 14, 14, 1), np.float32))

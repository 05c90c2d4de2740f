"""Beyond the article: noise, denoisers, anomaly scores, the codings sweep and their plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

import aelib
from aelib import studies
from aelib.cache import Run
from aelib.batches import batches, epoch_order


@pytest.fixture(scope="module")
def digits(sample):
    return sample.x_test[:200]


class TestAddNoise:
    def test_clipped_seeded_and_fresh(self, digits):
        noisy = aelib.add_noise(digits, 0.4, seed=0)
        assert noisy.shape == digits.shape and noisy.dtype == np.float32
        assert noisy.min() == 0.0 and noisy.max() == 1.0  # clipped, and clipping happened
        np.testing.assert_array_equal(noisy, aelib.add_noise(digits, 0.4, seed=0))
        assert not np.array_equal(noisy, aelib.add_noise(digits, 0.4, seed=1))
        # on mid-grey, where nothing is clipped, the noise has the standard deviation asked for
        grey = np.full((50, 28, 28, 1), 0.5, np.float32)
        assert np.std(aelib.add_noise(grey, 0.1, seed=0) - grey) == pytest.approx(0.1, rel=0.02)
        np.testing.assert_array_equal(aelib.add_noise(digits, 0, seed=0), digits)

    @pytest.mark.parametrize("sigma, error, message", [
        (-0.1, ValueError, "sigma must be a finite number >= 0, got -0.1"),
        (float("nan"), ValueError, "sigma must be a finite number >= 0"),
        ("0.4", TypeError, "sigma must be a number >= 0"),
    ])
    def test_bad_sigma(self, digits, sigma, error, message):
        with pytest.raises(error, match=message):
            aelib.add_noise(digits, sigma, seed=0)

    def test_bad_images(self):
        with pytest.raises(ValueError, match=r"x must have rank 4"):
            aelib.add_noise(np.zeros((28, 28)), 0.4)
        with pytest.raises(TypeError, match=r"x must be floats in \[0, 1\]"):
            aelib.add_noise(np.zeros((2, 28, 28, 1), np.uint8), 0.4)


@pytest.mark.backends
class TestNoisyTraining:
    def test_batches_are_noisy_inputs_with_clean_targets(self, sample):
        x = sample.x_train[:400]
        first = [tuple(np.asarray(a) for a in b) for b, _ in zip(batches(x, 100, 0, 2, 0.4), range(8))]
        order = np.concatenate([epoch_order(400, 0, 0), epoch_order(400, 0, 1)])
        for step, (inputs, targets) in enumerate(first):
            np.testing.assert_array_equal(targets, x[order[step * 100:(step + 1) * 100]])
            assert inputs.min() >= 0 and inputs.max() <= 1
            assert 0.2 < np.std(inputs - targets) < 0.45
        # the same image gets fresh noise in the next epoch, the same noise with the same seed
        again = [np.asarray(b[0]) for b, _ in zip(batches(x, 100, 0, 2, 0.4), range(8))]
        np.testing.assert_array_equal(again[0], first[0][0])
        i = order[0]
        j = int(np.flatnonzero(order[400:] == i)[0])
        assert not np.array_equal(first[0][0][0], first[4 + j // 100][0][j % 100])
        clean = [tuple(np.asarray(a) for a in b) for b, _ in zip(batches(x, 100, 0, 1), range(1))]
        np.testing.assert_array_equal(clean[0][0], clean[0][1])

    def test_train_with_noise_and_score_against_clean_targets(self, sample):
        x = sample.x_train[:600]
        ae = aelib.dense_autoencoder(seed=0)
        history = aelib.train(ae, x, epochs=1, batch_size=200, seed=0, noise=0.4, verbose=0)
        assert len(history.history["loss"]) == 1
        noisy = aelib.add_noise(sample.x_test[:100], 0.4, seed=0)
        errors = aelib.reconstruction_errors(ae, noisy, targets=sample.x_test[:100])
        assert errors.shape == (100,)
        assert aelib.evaluate(ae, noisy, targets=sample.x_test[:100]) == pytest.approx(errors.mean())

    def test_bad_noise_is_refused_before_training(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        with pytest.raises(ValueError, match="noise must be a finite number >= 0, got -1"):
            aelib.train(ae, sample.x_train[:200], epochs=1, batch_size=100, noise=-1)
        assert getattr(ae.model, "optimizer", None) is None  # nothing was compiled


@pytest.mark.backends
class TestReconstructionErrors:
    @pytest.fixture(scope="class")
    def ae(self):
        return aelib.conv_autoencoder(seed=0)

    def test_per_image_and_their_mean_is_evaluate(self, ae, digits):
        errors = aelib.reconstruction_errors(ae, digits, batch_size=64)
        assert errors.shape == (len(digits),) and errors.dtype == np.float64
        assert errors.mean() == pytest.approx(aelib.evaluate(ae, digits), rel=1e-6)
        recon = ae.reconstruct(digits[:3])
        expected = np.mean(np.square(recon - digits[:3], dtype=np.float64), axis=(1, 2, 3))
        np.testing.assert_allclose(errors[:3], expected, rtol=1e-5)

    def test_bad_input(self, ae, digits):
        with pytest.raises(ValueError, match=r"targets must hold one image per image of x \(200\)"):
            aelib.reconstruction_errors(ae, digits, targets=digits[:10])
        with pytest.raises(TypeError, match="autoencoder must be an aelib Autoencoder"):
            aelib.reconstruction_errors(ae.model, digits)
        with pytest.raises(ValueError, match=r"x must hold images of shape \(28, 28, 1\)"):
            aelib.reconstruction_errors(ae, np.zeros((2, 14, 14, 1), np.float32))


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


class TestPlots:
    def test_denoising_rows(self, digits):
        noisy = aelib.add_noise(digits[:6], 0.4, seed=0)
        median = aelib.denoising.classical_denoise(noisy, "median", 3)
        fig = aelib.plot_denoising(digits[:6], noisy, {"median": median})
        assert isinstance(fig, Figure)
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels == ["noisy", "median", "clean"]
        with pytest.raises(ValueError, match=r"denoised\['x'\] must hold as many images as clean \(6\)"):
            aelib.plot_denoising(digits[:6], noisy, {"x": noisy[:2]})

    def test_anomaly_histograms_and_roc(self):
        rng = np.random.default_rng(0)
        flags = rng.random(300) < 0.5
        scores = {"a": np.exp(rng.normal(size=300) + flags), "b": np.exp(rng.normal(size=300))}
        fig = aelib.plot_anomaly(scores, flags, thresholds={"a": 1.0})
        assert len(fig.axes) == 3
        legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
        assert legend[0] == f"a (AUC {aelib.roc_auc(scores['a'], flags):.3f})"
        with pytest.raises(ValueError, match=r"scores\['b'\] must be finite and positive"):
            aelib.plot_anomaly({"b": -scores["b"]}, flags)

    def test_codings_sweep_and_2d(self, sample):
        fig = aelib.plot_codings_sweep([2, 4, 8], {"dense": [0.05, 0.03, 0.02], "PCA": [0.06, 0.04, 0.03]})
        assert [l.get_label() for l in fig.axes[0].get_lines()] == ["dense", "PCA"]
        with pytest.raises(ValueError, match=r"mse\['dense'\] must hold 3 positive numbers"):
            aelib.plot_codings_sweep([2, 4, 8], {"dense": [0.05, 0.03]})
        z = np.random.default_rng(0).uniform(-1, 1, (100, 2))
        fig = aelib.plot_codings_2d(z, sample.y_test[:100])
        assert len(fig.axes) == 2  # the scatter and its colour bar
        with pytest.raises(ValueError, match="codings must have 2 columns"):
            aelib.plot_codings_2d(np.zeros((100, 3)), sample.y_test[:100])


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

        def fit():
            calls.append(1)
            return aelib.dense_autoencoder(n_codings=4, seed=0), {"train_seconds": 0.0}

        settings = {"kind": "dense", "n_codings": 4, "epochs": 0}
        first = Run(sample, cache_dir=tmp_path).trained("test-dense-4", "test model", settings, fit)
        record = json.loads(next(tmp_path.glob("test-dense-4-*.json")).read_text())
        assert record["config"]["n_codings"] == 4 and "model" in record["files"]
        run = Run(sample, cache_dir=tmp_path, progress=messages.append)
        again = run.trained("test-dense-4", "test model", settings, fit)
        assert calls == [1] and messages[0].startswith("test model: from the cache")
        x = sample.x_test[:10]
        np.testing.assert_allclose(again.autoencoder.reconstruct(x), first.autoencoder.reconstruct(x))
        # a damaged file is a cache miss: trained again
        next(tmp_path.glob("test-dense-4-*.keras")).write_bytes(b"garbage")
        Run(sample, cache_dir=tmp_path, progress=messages.append).trained(
            "test-dense-4", "test model", settings, fit)
        assert calls == [1, 1] and "unusable" in messages[-1]
        with pytest.raises(ValueError, match="name must be letters, digits"):
            run.trained("a.b", "x", settings, fit)

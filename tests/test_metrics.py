"""The report's measurements on synthetic inputs whose answer is known, and the digit classifier."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import aelib
from aelib.metrics import (
    GenerationScores,
    digit_classifier,
    digit_silhouette,
    generation_scores,
    knn_accuracy,
    ks_normality,
    train_digit_classifier,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def two_clusters(n=200, d=8, gap=50.0, seed=0):
    """n codings around 0 labelled 1 and n around (gap, ..., gap) labelled 0, 2..9."""
    r = rng(seed)
    z = np.concatenate([r.normal(0, 1, (n, d)), r.normal(gap, 1, (n, d))])
    labels = np.concatenate([np.ones(n, np.int64), r.choice([0, 2, 3, 4, 5, 6, 7, 8, 9], n)])
    return z, labels


class TestGenerationScores:
    def test_a_perfect_classifier(self):
        y = np.array([0, 1, 1, 2, 2, 2, 9])
        s = generation_scores(np.eye(10)[y])
        assert isinstance(s, GenerationScores)
        assert s.mean_confidence == 1.0 and s.confident_share == 1.0
        assert s.class_counts == (1, 2, 3, 0, 0, 0, 0, 0, 0, 1)  # every class, zeros included
        assert s.threshold == 0.9

    def test_uniform_probabilities(self):
        s = generation_scores(np.full((50, 10), 0.1, np.float32))
        assert s.mean_confidence == pytest.approx(0.1)
        assert s.confident_share == 0.0
        assert s.class_counts == (50,) + (0,) * 9  # ties go to the first class

    def test_threshold_is_inclusive_and_a_parameter(self):
        p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
        assert generation_scores(p).confident_share == pytest.approx(1 / 3)
        assert generation_scores(p, threshold=0.8).confident_share == pytest.approx(2 / 3)
        assert generation_scores(p, threshold=0.6).confident_share == 1.0
        assert generation_scores(p, threshold=0.95).confident_share == 0.0

    def test_softmax_outputs_pass(self):
        logits = rng().normal(size=(1000, 10)).astype(np.float32)
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        s = generation_scores(p)
        assert sum(s.class_counts) == 1000 and 0.1 < s.mean_confidence < 1

    @pytest.mark.parametrize(
        "p, error, match",
        [
            (np.full(10, 0.1), ValueError, "rank 2"),
            (np.full((2, 3, 4), 0.25), ValueError, "rank 2"),
            (np.zeros((0, 10)), ValueError, "empty"),
            (np.ones((3, 1)), ValueError, "at least 2 classes"),
            (np.full((4, 10), 0.2), ValueError, "sum to 1.*row 0 sums to 2"),
            (np.array([[0.5, 0.5], [2.0, 1.0]]), ValueError, "row 1 sums to 3"),
            (np.array([[1.5, -0.5]]), ValueError, "non-negative"),
            (np.array([[np.nan, 1.0]]), ValueError, "finite"),
            (np.array([["a", "b"]]), TypeError, "numbers"),
        ],
    )
    def test_bad_probabilities(self, p, error, match):
        with pytest.raises(error, match=match):
            generation_scores(p)

    @pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
    def test_bad_threshold(self, threshold):
        with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
            generation_scores(np.eye(3), threshold=threshold)


class TestKSNormality:
    def test_normal_data_against_its_sigma_is_close(self):
        z = rng().normal(0, 0.33, (5000, 16))
        assert ks_normality(z, sigma=0.33) < 0.03

    def test_wrong_sigma_or_uniform_data_is_far(self):
        r = rng()
        z = r.normal(0, 0.33, (5000, 16))
        assert ks_normality(z, sigma=1.0) > 0.2
        assert ks_normality(z * 3, sigma=0.33) > 0.2
        assert ks_normality(r.uniform(-1, 1, (5000, 16)), sigma=1.0) > 0.1

    def test_equals_scipys_kstest_per_coordinate(self):
        z = rng(1).normal(0.1, 0.5, (300, 3))
        expected = np.mean([scipy.stats.kstest(z[:, j], "norm", args=(0, 0.5)).statistic
                            for j in range(3)])
        assert ks_normality(z, 0.5) == pytest.approx(expected, abs=1e-12)

    def test_one_sample_at_the_mean(self):
        assert ks_normality(np.zeros((1, 2))) == pytest.approx(0.5)

    @pytest.mark.parametrize(
        "z, sigma, error, match",
        [
            (np.zeros(10), 1.0, ValueError, "rank 2"),
            (np.zeros((0, 4)), 1.0, ValueError, "empty"),
            (np.full((3, 2), np.inf), 1.0, ValueError, "finite"),
            (np.zeros((5, 2)), 0.0, ValueError, "sigma"),
            (np.zeros((5, 2)), -1.0, ValueError, "sigma"),
            (np.zeros((5, 2)), float("inf"), ValueError, "sigma"),
            (np.zeros((5, 2)), "1", TypeError, "sigma must be a number"),
        ],
    )
    def test_bad_input(self, z, sigma, error, match):
        with pytest.raises(error, match=match):
            ks_normality(z, sigma)


class TestDigitSilhouette:
    def test_separated_clusters_score_near_one(self):
        z, labels = two_clusters()
        assert digit_silhouette(z, labels, digit=1) > 0.9

    def test_identical_distributions_score_near_zero(self):
        r = rng()
        z = r.normal(0, 1, (2000, 8))
        labels = r.integers(0, 10, 2000)
        assert abs(digit_silhouette(z, labels, digit=1, max_samples=None)) < 0.05

    def test_the_subsample_is_seeded_and_close_to_the_full_score(self):
        r = rng()
        z = np.concatenate([r.normal(0, 1, (1500, 4)), r.normal(2, 1, (1500, 4))])
        labels = np.repeat([1, 7], 1500)
        full = digit_silhouette(z, labels, max_samples=None)
        a = digit_silhouette(z, labels, max_samples=600, seed=3)
        assert a == digit_silhouette(z, labels, max_samples=600, seed=3)
        assert a != digit_silhouette(z, labels, max_samples=600, seed=4)
        assert a == pytest.approx(full, abs=0.05)

    def test_a_rare_digit_survives_the_subsample(self):
        r = rng()
        z = np.concatenate([r.normal(0, 1, (3, 8)), r.normal(50, 1, (997, 8))])
        labels = np.repeat([1, 0], [3, 997])  # three 1s among 1,000 codings
        # 50 * 3 / 1000 rounds to 0 ones: two are kept (a lone one would score 0 by definition)
        assert digit_silhouette(z, labels, digit=1, max_samples=50) > 0.9

    @pytest.mark.parametrize(
        "kwargs, error, match",
        [
            (dict(digit=42), ValueError, "digit 42 does not occur in labels"),
            (dict(labels=np.ones(400, np.int64)), ValueError, "other than digit 1"),
            (dict(labels=np.ones(399, np.int64)), ValueError, "one label per row of codings"),
            (dict(labels=np.ones(400)), ValueError, "integer labels"),
            (dict(codings=np.zeros((400, 2, 2))), ValueError, "rank 2"),
            (dict(digit=1.5), ValueError, r"digit 1.5 does not occur in labels"),
            (dict(max_samples=1), ValueError, "max_samples must be >= 2"),
            (dict(max_samples=0), ValueError, "max_samples must be an integer >= 1"),
            (dict(seed="0"), TypeError, "seed must be an int"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        z, labels = two_clusters()
        args = dict(codings=z, labels=labels, digit=1) | kwargs
        with pytest.raises(error, match=match):
            digit_silhouette(**args)


class TestKnnAccuracy:
    def test_separated_clusters_are_classified_perfectly(self):
        z, labels = two_clusters(n=300)
        binary = (labels == 1).astype(np.int64)
        order = rng(1).permutation(len(z))
        train, test = order[:400], order[400:]
        assert knn_accuracy(z[train], binary[train], z[test], binary[test], k=5) == 1.0

    def test_random_labels_give_chance(self):
        r = rng()
        train, test = r.normal(size=(2000, 8)), r.normal(size=(1000, 8))
        acc = knn_accuracy(train, r.integers(0, 10, 2000), test, r.integers(0, 10, 1000), k=5)
        assert 0.05 < acc < 0.16

    def test_k_equal_to_the_train_set_is_allowed(self):
        train = np.array([[0.0], [1.0], [2.0]])
        assert knn_accuracy(train, [0, 0, 1], np.array([[2.0]]), [0], k=3) == 1.0  # majority

    @pytest.mark.parametrize(
        "kwargs, error, match",
        [
            # scikit-learn's own check: k is its n_neighbors
            (dict(k=11), ValueError, r"Expected n_neighbors <= n_samples_fit, but n_neighbors = 11, n_samples_fit = 10"),
            (dict(k=0), ValueError, r"n_neighbors.*must be an int in the range \[1, inf\)"),
            (dict(test_codings=np.zeros((4, 3))), ValueError, r"as many columns as train_codings \(2\)"),
            (dict(train_labels=np.zeros(9, int)), ValueError, "train_labels must have one label per row"),
            (dict(test_labels=np.zeros(5, int)), ValueError, "test_labels must have one label per row"),
            (dict(train_codings=np.zeros(10)), ValueError, "train_codings must have rank 2"),
            (dict(test_labels=np.zeros(4)), ValueError, "integer labels"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        args = dict(train_codings=np.zeros((10, 2)), train_labels=np.zeros(10, int),
                    test_codings=np.zeros((4, 2)), test_labels=np.zeros(4, int)) | kwargs
        with pytest.raises(error, match=match):
            knn_accuracy(**args)


class TestDigitClassifier:
    def test_outputs_are_probabilities(self, sample):
        model = digit_classifier(seed=0)
        p = model(sample.x_test[:16], training=False).numpy()
        assert p.shape == (16, 10) and (p >= 0).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        generation_scores(p)  # accepted as probabilities

    def test_same_seed_same_weights(self):
        a, b, c = digit_classifier(seed=3), digit_classifier(seed=3), digit_classifier(seed=4)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])

    def test_other_shapes_and_classes(self):
        model = digit_classifier((32, 32, 3), n_classes=5)
        assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 5)

    def test_one_short_epoch_beats_chance_by_far(self, sample):
        small = aelib.data.Dataset(sample.x_train[:3000], sample.y_train[:3000],
                                   sample.x_test, sample.y_test, "sample")
        model, accuracy = train_digit_classifier(small, epochs=1, seed=0)
        assert accuracy > 0.7  # chance: 0.1; measured 0.84-0.91
        assert model.output_shape == (None, 10)

    @pytest.mark.parametrize(
        "call, error, match",
        [
            (lambda: digit_classifier((12, 12, 1)), ValueError, "height and width >= 16"),
            (lambda: digit_classifier((28, 28)), ValueError, "input_shape"),
            (lambda: digit_classifier(n_classes=1), ValueError, "n_classes must be >= 2"),
            (lambda: digit_classifier(seed=1.5), TypeError, "seed must be an int"),
            (lambda: train_digit_classifier(np.zeros((4, 28, 28, 1))), TypeError, "aelib Dataset"),
        ],
    )
    def test_bad_input(self, call, error, match):
        with pytest.raises(error, match=match):
            call()

    @pytest.mark.parametrize(
        "kwargs, error, match",
        [
            (dict(epochs=0), ValueError, "epochs must be an integer >= 1"),
            (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
            (dict(learning_rate=0), ValueError, "learning_rate"),
            (dict(seed="0"), TypeError, "seed must be an int"),
        ],
    )
    def test_bad_training_arguments(self, sample, kwargs, error, match):
        with pytest.raises(error, match=match):
            train_digit_classifier(sample, **kwargs)

    def test_labels_must_be_digits(self, sample):
        bad = aelib.data.Dataset(sample.x_train[:10], np.arange(10) + 5, sample.x_test[:10],
                                 sample.y_test[:10], "sample")
        with pytest.raises(ValueError, match=r"data.y_train must hold digit labels 0..9.*\[5, 14\]"):
            train_digit_classifier(bad)


@pytest.mark.slow
def test_the_classifier_reaches_99_percent_on_full_mnist(full_mnist):
    _, accuracy = train_digit_classifier(full_mnist, seed=0)
    assert accuracy >= 0.99  # measured 99.1-99.25% over seeds 0-3

"""Measurements behind ``aelib report``: the numbers that check the article's claims.

A CNN that reads digits, to score generated ones; how normal the codings are, how
well a digit separates from the others in coding space and how well the codings
keep the digit. scipy and scikit-learn are imported where used: ``import aelib`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from .data import (
    Dataset,
    check_array,
    check_digits,
    check_finite,
    check_images,
    check_labels,
    check_number,
    check_positive_int,
    check_seed,
    describe,
)
from .models import check_input_shape, seed_everything

__all__ = ["N_DIGITS", "PROBABILITY_ATOL", "GenerationScores", "digit_classifier",
           "digit_silhouette", "generation_scores", "knn_accuracy", "ks_normality",
           "train_digit_classifier"]

#: MNIST's classes, 0..9.
N_DIGITS = 10
#: how far a row of probabilities may sum from 1 (float32 softmax rounding stays far below it).
PROBABILITY_ATOL = 1e-4
#: the classifier's Adam decays (cosine) from this learning rate to this fraction of it
CLASSIFIER_LEARNING_RATE = 3e-3
CLASSIFIER_FINAL_LR_FRACTION = 0.01


def _check_matrix(x, name: str, what: str = "codings") -> np.ndarray:
    """Check a finite ``(N, D)`` numeric array with N, D >= 1; return it as float64."""
    x = check_array(x, name, 2, f"(N, D) {what}").astype(np.float64, copy=False)
    check_finite(x, name)
    return x


def digit_classifier(
    input_shape: Sequence[int] = (28, 28, 1),
    n_classes: int = N_DIGITS,
    seed: int | None = None,
) -> keras.Model:
    """A small CNN that reads digits: images -> class probabilities.

    Conv2D 16@5x5 relu -> MaxPool 2 -> Conv2D 32@5x5 relu -> MaxPool 2 ->
    Flatten -> Dense 128 relu -> Dense ``n_classes`` softmax (both convs "valid").

    Args:
        input_shape: ``(H, W, C)`` of one image; H and W must be at least 16.
        n_classes: number of classes (>= 2).
        seed: seeds Keras before the layers are made: the same seed gives the
            same weights (on one backend).

    Returns:
        An uncompiled ``keras.Model`` named ``"digit_classifier"`` from
        ``(N, H, W, C)`` images to ``(N, n_classes)`` softmax probabilities.

    Example:
        >>> model = digit_classifier(seed=0)
        >>> model.output_shape, model.count_params()
        ((None, 10), 80202)
    """
    shape = check_input_shape(input_shape)
    if shape[0] < 16 or shape[1] < 16:
        raise ValueError(f"input_shape must have height and width >= 16 (two 5x5 convs and two "
                         f"2x poolings), got {shape}")
    n_classes = check_positive_int(n_classes, "n_classes")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    seed_everything(seed)
    inputs = keras.Input(shape, name="images")
    h = layers.Conv2D(16, 5, activation="relu", kernel_initializer="he_uniform", name="conv1")(inputs)
    h = layers.MaxPooling2D(2, name="pool1")(h)
    h = layers.Conv2D(32, 5, activation="relu", kernel_initializer="he_uniform", name="conv2")(h)
    h = layers.MaxPooling2D(2, name="pool2")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(128, "relu", kernel_initializer="he_uniform", name="hidden1")(h)
    outputs = layers.Dense(n_classes, "softmax", name="probabilities")(h)
    return keras.Model(inputs, outputs, name="digit_classifier")


def train_digit_classifier(
    data: Dataset,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    learning_rate: float = CLASSIFIER_LEARNING_RATE,
    seed: int | None = 0,
    verbose: int | str = 0,
) -> tuple[keras.Model, float]:
    """Build a :func:`digit_classifier`, fit it on ``data``'s train split, score it on its test split.

    Adam with a cosine decay from ``learning_rate`` to 1% of it over the run,
    sparse categorical cross-entropy, 50 steps per execution (one under PyTorch,
    which allows no more). Accuracy and time: docs/benchmarks.md.

    Args:
        data: an :class:`aelib.data.Dataset` with digit labels 0..9.
        epochs, batch_size: integers >= 1.
        learning_rate: Adam's peak learning rate.
        seed: seeds the weights and the shuffling; None for a fresh random run.
        verbose: passed to ``model.fit``.

    Returns:
        ``(model, accuracy)``: the trained, compiled model and its top-1
        accuracy on ``data.x_test`` / ``data.y_test``, a float in [0, 1].

    Example:
        >>> data = load_mnist("mnist.npz")  # doctest: +SKIP
        >>> model, accuracy = train_digit_classifier(data, seed=0)  # doctest: +SKIP
        >>> accuracy >= 0.99  # doctest: +SKIP
        True
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an aelib Dataset (from aelib.load_mnist), got {describe(data)}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_number(learning_rate, "learning_rate", 0.0, lo_open=True)
    seed = check_seed(seed)
    x_train = check_images(data.x_train, "data.x_train")
    x_test = check_images(data.x_test, "data.x_test", shape=x_train.shape[1:])
    y_train = check_labels(data.y_train, len(x_train), "data.y_train", "data.x_train")
    y_test = check_labels(data.y_test, len(x_test), "data.y_test", "data.x_test")
    check_digits(y_train, "data.y_train")
    check_digits(y_test, "data.y_test")

    # digit_classifier sets Keras's global seed, which the shuffling below uses too
    model = digit_classifier(x_train.shape[1:], N_DIGITS, seed=seed)
    total_steps = epochs * math.ceil(len(x_train) / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps,
                                                      alpha=CLASSIFIER_FINAL_LR_FRACTION)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"],
                  steps_per_execution=1 if keras.backend.backend() == "torch" else 50)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    probabilities = model.predict(x_test, batch_size=1000, verbose=0)
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == y_test))
    return model, accuracy


@dataclass(frozen=True)
class GenerationScores:
    """How a classifier reads a batch of images, from :func:`generation_scores`.

    Attributes:
        mean_confidence: mean over the images of the top class's probability,
            in ``[1/K, 1]``.
        confident_share: share of images whose top probability is at least
            ``threshold``, in ``[0, 1]``.
        class_counts: how many images each class is the top class of, a
            length-K tuple of ints (zeros included) summing to N.
        threshold: the confidence threshold of ``confident_share``.
    """

    mean_confidence: float
    confident_share: float
    class_counts: tuple[int, ...]
    threshold: float


def generation_scores(probabilities, threshold: float = 0.9) -> GenerationScores:
    """Confidence and class spread of a classifier's probabilities.

    Typically of ``classifier.predict(ae.generate(n))``: a good generator gives
    confident readings spread over all digits (no zero in ``class_counts``).

    Args:
        probabilities: ``(N, K)`` rows of class probabilities (K >= 2): non-negative,
            each row summing to 1 within ``PROBABILITY_ATOL``.
        threshold: the confidence that counts as "confident", in [0, 1].

    Returns:
        A :class:`GenerationScores`; ties go to the lowest class.

    Example:
        >>> import numpy as np
        >>> s = generation_scores(np.array([[0.95, 0.05], [0.3, 0.7], [0.1, 0.9]]))
        >>> round(s.mean_confidence, 4), round(s.confident_share, 4), s.class_counts
        (0.85, 0.6667, (1, 2))
    """
    threshold = check_number(threshold, "threshold", 0.0, 1.0)
    p = _check_matrix(probabilities, "probabilities", "class probabilities")
    if p.shape[1] < 2:
        raise ValueError(f"probabilities must have at least 2 classes (columns), got {describe(p)}")
    if p.min() < 0:
        raise ValueError(f"probabilities must be non-negative, got a minimum of {p.min():g}")
    sums = p.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_ATOL)
    if len(off):
        raise ValueError(f"probabilities rows must sum to 1 (within {PROBABILITY_ATOL:g}), got "
                         f"{len(off)} of {len(p)} rows that do not (row {off[0]} sums to "
                         f"{sums[off[0]]:g}); pass softmax outputs, not logits")
    top = p.max(axis=1)
    counts = np.bincount(np.argmax(p, axis=1), minlength=p.shape[1])
    return GenerationScores(
        mean_confidence=float(top.mean()),
        confident_share=float(np.mean(top >= threshold)),
        class_counts=tuple(int(c) for c in counts),
        threshold=threshold,
    )


def ks_normality(codings, sigma: float = 1.0) -> float:
    """Mean Kolmogorov-Smirnov distance of each coding coordinate from N(0, sigma).

    Per coordinate, ``scipy.stats.kstest(codings[:, j], "norm", args=(0, sigma))``:
    the largest gap between its empirical CDF and N(0, sigma)'s. 0: the codings
    look exactly like what a generator samples from; 1: the farthest apart. For
    N samples really drawn from N(0, sigma) it is about ``0.87 / sqrt(N)``.

    Args:
        codings: ``(N, D)`` codings, e.g. ``ae.encode(x)``.
        sigma: the standard deviation of the normal to compare with, > 0
            (``aelib.models.CODINGS_SIGMA`` = 0.33 for the article's generator).

    Returns:
        The mean over the D coordinates of the KS statistic, a float in [0, 1].

    Example:
        >>> import numpy as np
        >>> z = np.random.default_rng(0).normal(0, 0.33, size=(5000, 4))
        >>> ks_normality(z, sigma=0.33) < 0.03, ks_normality(z, sigma=1.0) > 0.2
        (True, True)
    """
    sigma = check_number(sigma, "sigma", 0.0, lo_open=True)
    z = _check_matrix(codings, "codings")
    import scipy.stats

    statistics = [scipy.stats.kstest(z[:, j], "norm", args=(0.0, sigma)).statistic
                  for j in range(z.shape[1])]
    return float(np.mean(statistics))


def digit_silhouette(
    codings,
    labels,
    digit: int = 1,
    *,
    max_samples: int | None = 5000,
    seed: int | None = 0,
) -> float:
    """Silhouette of one digit against all the others in coding space.

    Two clusters, ``digit`` and the rest; ``sklearn.metrics.silhouette_samples``
    (Euclidean) averaged over the digit's samples only, since the rest (90% of
    MNIST) would decide a mean over all. Near 1: the digit sits apart; near 0:
    they overlap; negative: its samples are closer to the rest than to each other.

    Silhouette costs O(N^2) distances: beyond ``max_samples`` codings, a random
    subset of that size is scored, drawn from the digit and the rest in
    proportion to their counts (at least two of the digit where it has two).

    Args:
        codings: ``(N, D)`` codings.
        labels: ``(N,)`` integer labels, one per row of ``codings``.
        digit: the label to separate from the others; it must occur in
            ``labels``, and some other label too.
        max_samples: score at most this many codings (>= 2), or None for all.
        seed: seeds the subsample (None: a fresh one each call).

    Returns:
        The silhouette, a float in [-1, 1].

    Example:
        >>> import numpy as np
        >>> z = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
        >>> round(digit_silhouette(z, np.array([1, 1, 7, 3, 0]), digit=1), 2)
        0.99
    """
    z = _check_matrix(codings, "codings")
    y = check_labels(labels, len(z), "labels", "codings", per="row of codings", rows="rows")
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, "max_samples")
        if max_samples < 2:
            raise ValueError(f"max_samples must be >= 2 (one of each cluster) or None, got {max_samples}")
    seed = check_seed(seed)
    is_digit = y == digit
    if not is_digit.any():
        present = np.unique(y).tolist()[:20]
        raise ValueError(f"digit {digit} does not occur in labels (labels hold {present})")
    if is_digit.all():
        raise ValueError(f"labels must hold some label other than digit {digit}, got only {digit}s")

    if max_samples is not None and len(z) > max_samples:
        picked = _two_cluster_subsample(is_digit, max_samples, seed)
        z, is_digit = z[picked], is_digit[picked]
    from sklearn.metrics import silhouette_samples

    scores = silhouette_samples(z, is_digit.astype(np.int64), metric="euclidean")
    return float(scores[is_digit].mean())


def _two_cluster_subsample(is_digit: np.ndarray, size: int, seed: int | None) -> np.ndarray:
    """Indices of :func:`digit_silhouette`'s subsample (a lone digit would score 0)."""
    rng = np.random.default_rng(seed)
    n_digit = int(is_digit.sum())
    k = min(max(min(2, n_digit), round(size * n_digit / len(is_digit))), size - 1)
    return np.concatenate([rng.choice(np.flatnonzero(is_digit), k, replace=False),
                           rng.choice(np.flatnonzero(~is_digit), size - k, replace=False)])


def knn_accuracy(
    train_codings,
    train_labels,
    test_codings,
    test_labels,
    k: int = 5,
) -> float:
    """Accuracy of a k-nearest-neighbours vote in coding space.

    ``sklearn.neighbors.KNeighborsClassifier(n_neighbors=k)`` fitted on the train
    codings, scored on the test codings: how well nearby codings share a digit.

    Args:
        train_codings: ``(N, D)`` codings of the reference images.
        train_labels: ``(N,)`` integer labels, one per train coding.
        test_codings: ``(M, D)`` codings to classify, same D.
        test_labels: ``(M,)`` integer labels, one per test coding.
        k: number of neighbours, 1 <= k <= N (scikit-learn checks it).

    Returns:
        The share of test codings whose vote gives their label, in [0, 1].

    Example:
        >>> import numpy as np
        >>> train = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
        >>> knn_accuracy(train, [0, 0, 0, 1, 1, 1], np.array([[0.05], [5.05]]), [0, 1], k=3)
        1.0
    """
    train = _check_matrix(train_codings, "train_codings")
    test = _check_matrix(test_codings, "test_codings")
    if test.shape[1] != train.shape[1]:
        raise ValueError(f"test_codings must have as many columns as train_codings "
                         f"({train.shape[1]}), got {describe(test)}")
    y_train = check_labels(train_labels, len(train), "train_labels", "train_codings",
                           per="row of train_codings", rows="rows")
    y_test = check_labels(test_labels, len(test), "test_labels", "test_codings",
                          per="row of test_codings", rows="rows")
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k).fit(train, y_train)
    return float(knn.score(test, y_test))

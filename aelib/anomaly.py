"""Anomaly detection by reconstruction error, and its PCA baseline.

An autoencoder trained only on normal images reconstructs anything else worse,
so each image's reconstruction error is an anomaly score. One-class MNIST: train
on one digit, score every test digit (the other nine are anomalies), report the ROC AUC::

    x_normal, x_test, is_anomaly = aelib.one_class_split(data, digit=0)
    ae = aelib.conv_autoencoder(seed=0)
    aelib.train(ae, x_normal, epochs=15, batch_size=150, seed=0)
    scores = aelib.reconstruction_errors(ae, x_test)
    aelib.roc_auc(scores, is_anomaly)                       # 1: perfect, 0.5: chance
    baseline = aelib.pca_reconstruction_errors(x_normal, x_test, n_components=16)

The TensorFlow tutorial's rule flags an error above the training errors' mean
plus one standard deviation (:func:`mean_std_threshold`, :func:`threshold_scores`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .data import (
    Dataset,
    check_array,
    check_images,
    check_number,
    check_positive_int,
    check_seed,
    describe,
)

__all__ = ["one_class_split", "pca_reconstruction_errors", "roc_auc", "mean_std_threshold",
           "threshold_scores", "ThresholdScores"]


def check_scores(scores, name: str = "scores", *, finite: bool = True) -> np.ndarray:
    """``scores`` as a non-empty 1-D float64 array (also finite unless ``finite=False``)."""
    s = check_array(scores, name, 1, "a 1-D array of numbers").astype(np.float64)
    if finite and not np.isfinite(s).all():
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    return s


def check_flags(is_anomaly, n: int, scores_name: str = "scores", *,
                both_classes: bool = False) -> np.ndarray:
    """``is_anomaly`` as ``n`` booleans, one per score of ``scores_name``; with
    ``both_classes``, of both classes (scikit-learn's ROC would only warn and give NaN)."""
    flags = np.asarray(is_anomaly)
    if flags.ndim != 1 or flags.dtype.kind not in "biu" or not np.isin(flags, (0, 1)).all():
        raise ValueError(f"is_anomaly must be a 1-D array of booleans (or 0/1), got {describe(flags)}")
    if len(flags) != n:
        raise ValueError(f"is_anomaly must have one flag per score: {scores_name} has {n}, "
                         f"is_anomaly has {len(flags)}")
    flags = flags.astype(bool)
    if both_classes and (flags.all() or not flags.any()):
        raise ValueError("is_anomaly must flag some images as anomalies and some as normal, "
                         f"got {int(flags.sum())} anomalies among {len(flags)}")
    return flags


def one_class_split(data: Dataset, digit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-class MNIST: the training images of one digit, and every test image.

    Args:
        data: an :class:`aelib.data.Dataset` with digit labels.
        digit: the normal class, 0..9.

    Returns:
        ``(x_normal, x_test, is_anomaly)``: the ``(n, H, W, C)`` training images
        labelled ``digit``, all test images, and ``(N_test,)`` booleans, True
        for the test images of the other digits.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an aelib Dataset (from aelib.load_mnist), got {describe(data)}")
    if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit <= 9:
        raise ValueError(f"digit must be an integer label 0..9, got {describe(digit)}")
    normal = data.y_train == digit
    if not normal.any() or not (data.y_test == digit).any():
        raise ValueError(f"digit {digit} must occur in both data.y_train and data.y_test")
    return data.x_train[normal], data.x_test, data.y_test != digit


def pca_reconstruction_errors(x_fit: np.ndarray, x: np.ndarray, n_components: int = 16,
                              seed: int | None = 0) -> np.ndarray:
    """The linear baseline: each image's MSE after projecting it on the first
    ``n_components`` principal components of ``x_fit`` and back (PCA is the best
    linear autoencoder with that many codings).

    Args:
        x_fit: ``(M, H, W, C)`` float32 in [0, 1], the images to fit PCA on
            (the training images); ``n_components <= min(M, H*W*C)``.
        x: ``(N, H, W, C)`` images of the same shape, to score.
        n_components: how many components to keep (the codings' size).
        seed: seeds the randomized solver where scikit-learn picks it.

    Returns:
        ``(N,)`` float64 per-image MSE (reconstructions are not clipped).
    """
    x_fit = check_images(x_fit, "x_fit")
    x = check_images(x, "x", shape=x_fit.shape[1:])
    # PCA itself would take 0, and read a float as a share of the variance
    n_components = check_positive_int(n_components, "n_components")
    seed = check_seed(seed)
    from sklearn.decomposition import PCA

    flat = x.reshape(len(x), -1)
    pca = PCA(n_components=n_components, random_state=seed).fit(x_fit.reshape(len(x_fit), -1))
    back = pca.inverse_transform(pca.transform(flat))
    return np.mean(np.square(back - flat, dtype=np.float64), axis=1)


def roc_auc(scores, is_anomaly) -> float:
    """Area under the ROC curve of anomaly ``scores`` (higher: more anomalous).

    1.0: every anomaly scores above every normal image; 0.5: chance
    (``sklearn.metrics.roc_auc_score``).

    Example:
        >>> roc_auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
        1.0
    """
    s = check_scores(scores)
    flags = check_flags(is_anomaly, len(s), both_classes=True)
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(flags, s))


def mean_std_threshold(train_errors, n_std: float = 1.0) -> float:
    """The TensorFlow tutorial's threshold: mean + ``n_std`` standard deviations
    of the normal training images' errors."""
    e = check_scores(train_errors, "train_errors")
    n_std = check_number(n_std, "n_std", -math.inf)
    return float(e.mean() + n_std * e.std())


@dataclass(frozen=True)
class ThresholdScores:
    """Decisions "anomalous if score > threshold", scored against the truth.

    ``precision``: the share of flagged images that are anomalies;
    ``recall``: the share of anomalies flagged; ``accuracy``: right decisions.
    """

    threshold: float
    accuracy: float
    precision: float
    recall: float


def threshold_scores(scores, is_anomaly, threshold: float) -> ThresholdScores:
    """Accuracy, precision and recall of flagging ``scores > threshold`` as
    anomalies (the anomalies are the positive class).

    Example:
        >>> threshold_scores([0.1, 0.5, 0.8, 0.9], [False, False, True, True], 0.4)
        ThresholdScores(threshold=0.4, accuracy=0.75, precision=0.6666666666666666, recall=1.0)
    """
    s = check_scores(scores)
    flags = check_flags(is_anomaly, len(s))
    threshold = check_number(threshold, "threshold", -math.inf)
    flagged = s > threshold
    hits = int(np.sum(flagged & flags))
    return ThresholdScores(
        threshold=threshold,
        accuracy=float(np.mean(flagged == flags)),
        precision=hits / int(flagged.sum()) if flagged.any() else 0.0,
        recall=hits / int(flags.sum()) if flags.any() else 0.0,
    )

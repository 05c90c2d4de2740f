"""Beyond the article: denoising, anomaly detection and how many codings.

The studies that ``aelib figures`` draws and ``aelib report`` tables, with their
training plans (shorter than the article's, so that they stay a small part of a
full run). Every model goes through :meth:`aelib.cache.Run.trained`.

* :func:`denoising_study`: the figures' models trained on with noisy inputs,
  against the noisy input, the best classical filter (:mod:`aelib.denoising`)
  and the plain models, per noise sigma.
* :func:`anomaly_study`: per digit, dense and conv autoencoders and PCA fitted
  on that digit alone; ROC AUC, and the TensorFlow tutorial's mean + 1 std
  threshold on :data:`ANOMALY_DIGIT`.
* :func:`codings_study`: test MSE of the models and PCA for 2 to 64 codings.

:func:`codings_sweep` runs the codings study on data of your own, without the
cache.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import anomaly
from .batches import add_noise
from .cache import MODELS, Run
from .data import check_images, check_positive_int, describe
from .denoising import ClassicalDenoiser, image_mse, tune_classical
from .models import Autoencoder
from .training import evaluate, reconstruction_errors, train

__all__ = [
    "ANOMALY_DIGIT", "CODINGS_SIZES", "DENOISERS", "DENOISE_SIGMAS", "FIGURE_SIGMA", "N_CODINGS",
    "ONE_CLASS", "QUICK_CODINGS_SIZES", "SWEEP",
    "AnomalyStudy", "CodingsStudy", "DenoisingStudy", "TrainingPlan",
    "anomaly_study", "codings_study", "codings_sweep", "denoiser", "denoiser_recipe",
    "denoising_study", "one_class_model", "sweep_model", "tuned_classical", "vae_2d_model",
]


@dataclass(frozen=True)
class TrainingPlan:
    """Epochs, batch size and training images of a study's models (``quick_*``:
    for ``--quick`` runs), trained by :func:`aelib.train`'s default recipe."""

    epochs: int
    batch_size: int
    quick_epochs: int
    n_train: int | None = None  # the first n training images; None: all
    quick_n_train: int | None = None

    def for_run(self, quick: bool) -> tuple[int, int | None]:
        """The epochs and the number of training images (``None``: all) of a run."""
        return (self.quick_epochs, self.quick_n_train) if quick else (self.epochs, self.n_train)

    def describe(self, quick: bool) -> str:
        epochs, n = self.for_run(quick)
        images = "all training images" if n is None else f"the first {n:,} training images"
        return f"{epochs} epochs, batch {self.batch_size}, {images}"


#: the codings of every model but the sweep's: the article's 16
N_CODINGS = 16
#: noise levels of the denoising table, and the one the figure shows
DENOISE_SIGMAS = (0.2, 0.4, 0.6)
FIGURE_SIGMA = 0.4
#: test digits the denoisers are scored on, and training digits the classical filters are tuned on
DENOISE_TEST_IMAGES = 2000
TUNE_IMAGES = 300
QUICK_TUNE_IMAGES = 100
#: the denoisers' plans: the article's trained models trained on with noise, which
#: beats training from scratch (docs/benchmarks.md, the denoisers' training plan)
DENOISERS = {"dense": TrainingPlan(epochs=5, batch_size=200, quick_epochs=1),
             "conv": TrainingPlan(epochs=3, batch_size=150, quick_epochs=1)}
#: one-class MNIST's plans: each model sees one digit's training images
ONE_CLASS = {"dense": TrainingPlan(epochs=30, batch_size=200, quick_epochs=4),
             "conv": TrainingPlan(epochs=15, batch_size=150, quick_epochs=2)}
#: the digit of the anomaly figure and of the threshold rule (fixed, not chosen on results)
ANOMALY_DIGIT = 0
#: the codings sweep: its sizes, and its models' training plans
CODINGS_SIZES = (2, 4, 8, 16, 32, 64)
QUICK_CODINGS_SIZES = (2, 8)
SWEEP = {"dense": TrainingPlan(epochs=15, batch_size=200, quick_epochs=2, n_train=10_000,
                               quick_n_train=2_000),
         "conv": TrainingPlan(epochs=5, batch_size=150, quick_epochs=1, n_train=10_000,
                              quick_n_train=2_000)}
#: what the quick run covers of the report's tables (the figures' models only)
QUICK_SIGMAS = (FIGURE_SIGMA,)
QUICK_DIGITS = (ANOMALY_DIGIT,)


def _kind(kind) -> str:
    if kind not in ("dense", "conv"):
        raise ValueError(f"kind must be 'dense' or 'conv', got {describe(kind)}")
    return kind


def _cached(run: Run, name: str, label: str, kind: str, plan: TrainingPlan, x: np.ndarray, *,
            n_codings: int = N_CODINGS, noise: float | None = None, fine_tune: bool = False,
            **settings) -> Autoencoder:
    """The model of ``plan`` trained on ``x``, through the run's cache; with
    ``fine_tune``, from the weights of the run's trained ``kind`` model."""
    spec = MODELS[kind]
    epochs, n = plan.for_run(run.quick)
    x = x[:n]  # n None: all
    start = run.model(kind).autoencoder if fine_tune else None
    config = {"kind": kind, "n_codings": n_codings, "epochs": epochs,
              "batch_size": plan.batch_size, "n_train": len(x), "noise": noise, "recipe": "aelib",
              "dtype_policy": spec.dtype_policy(), "start": run.config(kind) if fine_tune else None,
              **settings}

    def fit(backup_dir):
        ae = spec.build(n_codings=n_codings, seed=run.seed, dtype_policy=spec.dtype_policy())
        if start is not None:
            ae.model.set_weights(start.model.get_weights())
        began = time.perf_counter()
        train(ae, x, epochs=epochs, batch_size=plan.batch_size, seed=run.seed, noise=noise,
              backup_dir=backup_dir, verbose=0)
        seconds = time.perf_counter() - began
        more = " more" if start is not None else ""
        run.progress(f"{label}: trained {epochs}{more} epochs on {len(x):,} images in {seconds:.0f} s")
        return ae, {"train_seconds": round(seconds, 1)}

    return run.trained(name, label, config, fit).autoencoder


def tuned_classical(run: Run, sigma: float) -> list[ClassicalDenoiser]:
    """The classical filters tuned for noise of ``sigma`` on the first
    :data:`TUNE_IMAGES` training digits (noise seed ``run.seed + 1``), best first."""
    tune_clean = run.data.x_train[:QUICK_TUNE_IMAGES if run.quick else TUNE_IMAGES]
    return tune_classical(add_noise(tune_clean, sigma, seed=run.seed + 1), tune_clean)


def denoiser_recipe(kind: str, quick: bool, n_fit: int = 55_000) -> str:
    """How the ``kind`` denoiser is trained (its :data:`DENOISERS` plan), in words."""
    return (f"{DENOISERS[kind].for_run(quick)[0]} more epochs from the trained model, "
            f"batch {DENOISERS[kind].batch_size}, the first {n_fit:,} training images")


def denoiser(run: Run, kind: str, sigma: float) -> Autoencoder:
    """The run's ``kind`` model trained on to denoise noise of ``sigma`` (:data:`DENOISERS`)."""
    kind = _kind(kind)
    x_fit = run.data.split_validation()[0]  # as the article's models: the validation split held out
    name = f"denoise-{kind}-{round(sigma * 100):03d}"  # no dot: it names the cache files
    return _cached(run, name, f"{kind} denoiser, sigma {sigma:g}", kind, DENOISERS[kind], x_fit,
                   noise=float(sigma), fine_tune=True)


def one_class_model(run: Run, kind: str, digit: int) -> Autoencoder:
    """The ``kind`` model trained on the training images of ``digit`` (:data:`ONE_CLASS`)."""
    kind = _kind(kind)
    x_normal, _, _ = anomaly.one_class_split(run.data, digit)
    return _cached(run, f"oneclass-{kind}-{digit}", f"{kind} one-class model, digit {digit}",
                   kind, ONE_CLASS[kind], x_normal, digit=int(digit))


def sweep_model(run: Run, kind: str, n_codings: int) -> Autoencoder:
    """The ``kind`` model with ``n_codings`` codings of the codings sweep (:data:`SWEEP`)."""
    kind = _kind(kind)
    n_codings = check_positive_int(n_codings, "n_codings")
    return _cached(run, f"codings-{kind}-{n_codings}", f"{kind} model, {n_codings} codings", kind,
                   SWEEP[kind], run.data.x_train, n_codings=n_codings)


def vae_2d_model(run: Run) -> Autoencoder:
    """A dense VAE with 2 codings, trained by the codings sweep's dense plan (:data:`SWEEP`)."""
    return _cached(run, "vae2d-dense", "dense VAE, 2 codings", "dense_vae", SWEEP["dense"],
                   run.data.x_train, n_codings=2)


# -- denoising ---------------------------------------------------------------
@dataclass(frozen=True)
class DenoisingStudy:
    """Test MSE against the clean digits: ``rows``, one per sigma; ``classical``:
    the filters tuned at each sigma, best first, and ``classical_test`` their test MSE."""

    sigmas: tuple[float, ...]
    rows: dict[str, list[float]]
    classical: dict[float, list[ClassicalDenoiser]]
    classical_test: dict[float, list[float]]
    n_test: int
    n_tune: int
    plans: dict[str, str]
    seed: int

    def best_classical(self, sigma: float) -> tuple[ClassicalDenoiser, float]:
        """The filter that won on the training images at ``sigma``, and its test MSE."""
        return self.classical[sigma][0], self.classical_test[sigma][0]


def denoising_study(run: Run, sigmas: Sequence[float] | None = None) -> DenoisingStudy:
    """The denoising study (see the module notes); quick runs cover :data:`FIGURE_SIGMA`."""
    sigmas = tuple(sigmas or (QUICK_SIGMAS if run.quick else DENOISE_SIGMAS))
    data = run.data
    clean = data.x_test[:DENOISE_TEST_IMAGES]
    n_tune = QUICK_TUNE_IMAGES if run.quick else TUNE_IMAGES
    plain = {k: run.model(k).autoencoder for k in ("dense", "conv")}
    rows = {label: [] for label in ("noisy input", "plain dense autoencoder", "plain conv autoencoder",
                                    "dense denoising autoencoder", "conv denoising autoencoder")}
    classical, classical_test = {}, {}
    for sigma in sigmas:
        noisy = add_noise(clean, sigma, seed=run.seed)
        classical[sigma] = tuned = tuned_classical(run, sigma)
        classical_test[sigma] = [image_mse(d(noisy), clean) for d in tuned]
        run.progress(f"classical denoisers, sigma {sigma:g}: best on the training images "
                     f"{tuned[0].label} (test MSE {classical_test[sigma][0]:.4f})")
        rows["noisy input"].append(image_mse(noisy, clean))
        for kind in ("dense", "conv"):
            rows[f"plain {kind} autoencoder"].append(evaluate(plain[kind], noisy, targets=clean))
            rows[f"{kind} denoising autoencoder"].append(
                evaluate(denoiser(run, kind, sigma), noisy, targets=clean))
    plans = {k: denoiser_recipe(k, run.quick, len(data.split_validation()[0]))
             for k in ("dense", "conv")}
    return DenoisingStudy(sigmas, rows, classical, classical_test, len(clean), n_tune, plans,
                          run.seed)


# -- one-class MNIST ---------------------------------------------------------
@dataclass(frozen=True)
class AnomalyStudy:
    """One-class MNIST: ``auc[model label][digit]``, and for :data:`ANOMALY_DIGIT`
    the test scores, the flags and the mean + 1 std threshold rule's results."""

    digits: tuple[int, ...]
    auc: dict[str, dict[int, float]]
    digit: int
    scores: dict[str, np.ndarray]
    is_anomaly: np.ndarray
    thresholds: dict[str, anomaly.ThresholdScores]
    plans: dict[str, str]
    seed: int

    def mean_auc(self, label: str) -> float:
        return float(np.mean([self.auc[label][d] for d in self.digits]))


def _one_class_scores(run: Run, digit: int) -> tuple[dict, dict, np.ndarray]:
    """Test and training scores of the dense, conv and PCA models of ``digit``."""
    x_normal, x_test, is_anomaly = anomaly.one_class_split(run.data, digit)
    test, train_ = {}, {}
    for kind in ("dense", "conv"):
        ae = one_class_model(run, kind, digit)
        label = f"{kind} autoencoder"
        test[label] = reconstruction_errors(ae, x_test)
        train_[label] = reconstruction_errors(ae, x_normal)
    label = f"PCA, {N_CODINGS} components"
    both = anomaly.pca_reconstruction_errors(x_normal, np.concatenate([x_test, x_normal]),
                                             N_CODINGS, seed=run.seed)
    test[label], train_[label] = both[:len(x_test)], both[len(x_test):]
    return test, train_, is_anomaly


def anomaly_study(run: Run, digits: Sequence[int] | None = None) -> AnomalyStudy:
    """One-class MNIST for each digit (quick runs: :data:`ANOMALY_DIGIT` only)."""
    digits = tuple(digits if digits is not None else
                   (QUICK_DIGITS if run.quick else range(10)))
    auc: dict[str, dict[int, float]] = {}
    figure = None
    for digit in digits:
        test, train_, is_anomaly = _one_class_scores(run, digit)
        for label, scores in test.items():
            auc.setdefault(label, {})[digit] = anomaly.roc_auc(scores, is_anomaly)
        run.progress(f"one-class digit {digit}: AUC " + ", ".join(
            f"{label} {auc[label][digit]:.3f}" for label in test))
        if digit == ANOMALY_DIGIT:
            figure = (test, train_, is_anomaly)
    if figure is None:
        figure = _one_class_scores(run, ANOMALY_DIGIT)
    test, train_, is_anomaly = figure
    thresholds = {label: anomaly.threshold_scores(test[label], is_anomaly,
                                                  anomaly.mean_std_threshold(train_[label]))
                  for label in test}
    plans = {k: ONE_CLASS[k].describe(run.quick) for k in ("dense", "conv")}
    return AnomalyStudy(digits, auc, ANOMALY_DIGIT, test, is_anomaly, thresholds, plans,
                        run.seed)


# -- how many codings --------------------------------------------------------
@dataclass(frozen=True)
class CodingsStudy:
    """Test MSE per number of codings: ``mse[label]`` has one value per size."""

    sizes: tuple[int, ...]
    mse: dict[str, list[float]]
    plans: dict[str, str]
    n_test: int
    seed: int


def codings_study(run: Run, sizes: Sequence[int] | None = None) -> CodingsStudy:
    """The codings sweep of the run's data (quick runs: :data:`QUICK_CODINGS_SIZES`)."""
    sizes = tuple(sizes or (QUICK_CODINGS_SIZES if run.quick else CODINGS_SIZES))
    x_test = run.data.x_test
    mse = {f"{kind} autoencoder": [evaluate(sweep_model(run, kind, n), x_test) for n in sizes]
           for kind in ("dense", "conv")}
    x_fit = run.data.x_train[:SWEEP["dense"].for_run(run.quick)[1]]
    mse["PCA"] = [float(anomaly.pca_reconstruction_errors(x_fit, x_test, n, seed=run.seed).mean())
                  for n in sizes]
    plans = {k: SWEEP[k].describe(run.quick) for k in ("dense", "conv")}
    return CodingsStudy(sizes, mse, plans, len(x_test), run.seed)


def codings_sweep(
    x_train: np.ndarray,
    x_test: np.ndarray,
    sizes: Sequence[int] = CODINGS_SIZES,
    *,
    kinds: Sequence[str] = ("dense", "conv"),
    epochs: int = 5,
    batch_size: int = 200,
    seed: int | None = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Test MSE against the number of codings, for aelib's models and PCA.

    Each size gets a fresh model of each kind (``aelib.dense_autoencoder`` /
    ``aelib.conv_autoencoder`` with ``n_codings=size``), trained the same
    way (:func:`aelib.train` with these ``epochs``, ``batch_size`` and
    ``seed``), and PCA with ``size`` components fitted on ``x_train``.

    Args:
        x_train, x_test: ``(N, H, W, C)`` float32 in [0, 1].
        sizes: the numbers of codings, integers >= 1.
        kinds: ``"dense"`` and/or ``"conv"``.
        epochs, batch_size, seed, verbose: for :func:`aelib.train`.

    Returns:
        ``{"dense autoencoder": [...], "conv autoencoder": [...], "PCA": [...]}``,
        one test MSE per size (float32 models, whatever the figures use).

    Example:
        >>> mse = codings_sweep(data.x_train[:5000], data.x_test, sizes=(2, 16), epochs=3)  # doctest: +SKIP
        >>> aelib.plot_codings_sweep((2, 16), mse)  # doctest: +SKIP
    """
    x_train = check_images(x_train, "x_train")
    x_test = check_images(x_test, "x_test", shape=x_train.shape[1:])
    if isinstance(sizes, (str, int)) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError(f"sizes must be a non-empty sequence of integers >= 1, got {describe(sizes)}")
    sizes = [check_positive_int(n, "sizes[]") for n in sizes]
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        raise TypeError(f"kinds must be a non-empty sequence of 'dense' / 'conv', got {describe(kinds)}")
    kinds = [_kind(k) for k in kinds]  # epochs, batch_size and seed: train checks them
    mse: dict[str, list[float]] = {}
    for kind in kinds:
        mse[f"{kind} autoencoder"] = []
        for n in sizes:
            ae = MODELS[kind].build(n_codings=n, input_shape=x_train.shape[1:], seed=seed)
            train(ae, x_train, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose)
            mse[f"{kind} autoencoder"].append(evaluate(ae, x_test))
    mse["PCA"] = [float(anomaly.pca_reconstruction_errors(x_train, x_test, n, seed=seed).mean())
                  for n in sizes]
    return mse

"""The article's claims, measured: ``aelib report``.

The article says that digits decoded from random codings look odd, that the
codings are not normally distributed, that the 1s form a cluster of their own,
and that a variational autoencoder fixes this. :func:`measure` puts a number on
each claim for the dense and conv autoencoders and their variational twins:

* test MSE of the (deterministic) reconstructions;
* generation: 1,000 digits decoded from the model's prior, scored by a small
  digit classifier (mean top-class confidence, the share it is 90% sure of,
  how many of each digit);
* normality: the mean Kolmogorov-Smirnov statistic of the test codings (a
  VAE's sampled codings) against the prior, per coordinate;
* separation: the silhouette of the 1s, and 5-nearest-neighbour accuracy.

On data other than MNIST the classifier's columns are left out
(:data:`NOT_SCORED`); the rest is measured on the data's own labels.

    from aelib.cache import Run
    from aelib.report import measure
    print(measure(Run(aelib.load_mnist(), cache_dir=".aelib-cache")).markdown())

or, for models trained in a notebook, :func:`compare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import metrics, studies
from ._io import atomic_path
from ._version import __version__
from .cache import MODELS, Run
from .data import Dataset, describe
from .models import Autoencoder, check_autoencoder
from .studies import AnomalyStudy, CodingsStudy, DenoisingStudy
from .training import evaluate
from .vae import sampled_codings

__all__ = ["NOT_SCORED", "REPORT_MODELS", "Beyond", "ModelClaims", "Report", "compare",
           "markdown_table", "measure", "measure_autoencoder", "measure_beyond", "write_report"]

#: the report's rows, in order: model kinds of :data:`aelib.cache.MODELS`
REPORT_MODELS = ("dense", "conv", "dense_vae", "conv_vae")
N_GENERATED = 1000
CONFIDENT = 0.9
KNN_K = 5
SILHOUETTE_DIGIT = 1
SILHOUETTE_SAMPLES = 5000
#: what a report without a digit classifier says instead of its accuracy
NOT_SCORED = ("no digit classifier: the data is not MNIST, so the generated images are not "
              "scored as digits (the classifier's columns are left out)")


@dataclass(frozen=True)
class ModelClaims:
    """One model's row of the report (``generation`` is None without a classifier)."""

    label: str
    test_mse: float
    prior_sigma: float
    generation: metrics.GenerationScores | None
    ks: float
    silhouette: float
    knn: float


@dataclass(frozen=True)
class Beyond:
    """The studies of :mod:`aelib.studies`, as Markdown sections."""

    denoising: DenoisingStudy
    anomaly: AnomalyStudy
    codings: CodingsStudy

    def denoising_table(self) -> str:
        d = self.denoising
        header = ["denoiser"] + [f"sigma = {s:g}" for s in d.sigmas]
        rows = _mse_rows(d.rows)
        best = [d.best_classical(s) for s in d.sigmas]
        rows.insert(1, [f"best classical filter (tuned on {d.n_tune} training digits)"]
                    + [f"{mse:.4f} ({f.label})" for f, mse in best])
        return markdown_table(header, rows)

    def classical_table(self) -> str:
        d = self.denoising
        header = ["classical filter"] + [f"sigma = {s:g}: parameter, test MSE" for s in d.sigmas]
        rows = []
        for method in sorted(f.method for f in d.classical[d.sigmas[0]]):
            row = [method]
            for s in d.sigmas:
                i = next(j for j, f in enumerate(d.classical[s]) if f.method == method)
                row.append(f"{d.classical[s][i].parameter:g}, {d.classical_test[s][i]:.4f}"
                           + (" (chosen)" if i == 0 else ""))
            rows.append(row)
        return markdown_table(header, rows)

    def denoising_goal(self) -> str:
        d = self.denoising
        sigma = 0.4 if 0.4 in d.sigmas else d.sigmas[0]
        conv = d.rows["conv denoising autoencoder"][d.sigmas.index(sigma)]
        best, best_mse = d.best_classical(sigma)
        ratio = conv / best_mse
        return (f"Goal: the conv denoising autoencoder at sigma = {sigma:g} at most half the MSE of "
                f"the best classical filter. Measured: {conv:.4f} against {best_mse:.4f} "
                f"({best.label}), a ratio of {ratio:.2f}: "
                + ("met." if ratio <= 0.5 else "**not met**."))

    def auc_table(self) -> str:
        a = self.anomaly
        header = ["model"] + [str(d) for d in a.digits] + ["mean"]
        rows = [[label] + [f"{a.auc[label][d]:.3f}" for d in a.digits] + [f"**{a.mean_auc(label):.3f}**"]
                for label in a.auc]
        return markdown_table(header, rows)

    def anomaly_goal(self) -> str:
        a = self.anomaly
        conv = a.mean_auc("conv autoencoder")
        pca_label = next(l for l in a.auc if l.startswith("PCA"))
        pca = a.mean_auc(pca_label)
        met = conv >= 0.95 and conv > pca
        text = (f"Goal: the conv autoencoder's mean AUC at least 0.95 and ahead of PCA. Measured: "
                f"conv {conv:.3f}, dense {a.mean_auc('dense autoencoder'):.3f}, {pca_label} "
                f"{pca:.3f}: " + ("met." if met else "**not met**."))
        if pca >= conv:
            behind = [str(d) for d in a.digits if a.auc["conv autoencoder"][d] < a.auc[pca_label][d]]
            text += (f" PCA is ahead of the conv autoencoder by {pca - conv:.3f} on the mean; the "
                     f"conv autoencoder is behind it on digit{'s' if len(behind) > 1 else ''} "
                     f"{', '.join(behind) or 'none'}. What decides the AUC is how much worse the "
                     "anomalies are reconstructed than the normal digit, not how well the normal "
                     "digit is: a conv model learns local strokes that the other digits are made "
                     "of too, while PCA's plane, fitted to one digit's pixels, cannot draw what "
                     "lies off it. Training the conv model longer is no simple fix: "
                     "`benchmarks/one_class_epochs.py` (docs/benchmarks.md) finds that three times "
                     "the epochs lift it above PCA on the 2s but drop it further behind on the 5s, "
                     "while its error on the normal digit falls for both.")
        return text

    def threshold_table(self) -> str:
        a = self.anomaly
        header = ["model", "threshold (mean + 1 std of training errors)", "accuracy",
                  "precision", "recall", "median error, anomalous / normal"]
        rows = []
        for label, t in a.thresholds.items():
            s = a.scores[label]
            ratio = np.median(s[a.is_anomaly]) / np.median(s[~a.is_anomaly])
            rows.append([label, f"{t.threshold:.4f}", f"{t.accuracy:.1%}", f"{t.precision:.1%}",
                         f"{t.recall:.1%}", f"{ratio:.2f}"])
        return markdown_table(header, rows)

    def codings_table(self) -> str:
        header = ["model"] + [f"{n} codings" for n in self.codings.sizes]
        return markdown_table(header, _mse_rows(self.codings.mse))

    def markdown(self) -> str:
        d, a, c = self.denoising, self.anomaly, self.codings
        n_auc = len(a.digits)
        return "\n\n".join([
            "## Beyond the article: denoising",
            (f"MSE against the clean digits on the first {d.n_test:,} test digits, with Gaussian "
             f"noise of standard deviation sigma clipped to [0, 1] (noise seed {d.seed}). Each "
             f"classical filter's parameter is tuned on {d.n_tune} noisy training digits (noise "
             f"seed {d.seed + 1}), and the filter with the lowest training MSE is the row's. The "
             "plain autoencoders are the table above's, fed the noisy digits; the denoising "
             "autoencoders are those trained models trained on with noisy inputs and clean "
             f"targets, fresh noise every epoch ({_plans(d.plans)})."),
            self.denoising_table(),
            self.denoising_goal(),
            "Every classical filter, its tuned parameter and its test MSE:",
            self.classical_table(),
            "## Beyond the article: anomaly detection (one-class MNIST)",
            (f"For each digit, a dense and a conv autoencoder (16 codings) trained on that digit's "
             f"training images only ({_plans(a.plans)}), and PCA with 16 components fitted on "
             "the same images. Every test digit is scored by its reconstruction error; the other "
             f"digits are the anomalies. ROC AUC per normal digit ({n_auc} digit"
             f"{'s' if n_auc > 1 else ''}), and the mean:"),
            self.auc_table(),
            self.anomaly_goal(),
            (f"The TensorFlow tutorial's rule on digit {a.digit}: an image is flagged anomalous "
             "when its error is above the mean + 1 standard deviation of the training images' "
             "errors; precision and recall of the anomalies among all test digits:"),
            self.threshold_table(),
            "## Beyond the article: how many codings",
            (f"Test MSE on all {c.n_test:,} test digits against the number of codings, every size "
             f"trained the same way ({_plans(c.plans)}); PCA fitted on the same training "
             "images with as many components:"),
            self.codings_table(),
        ]) + "\n"


@dataclass(frozen=True)
class Report:
    """The measured claims, with what they were measured on."""

    rows: tuple[ModelClaims, ...]
    classifier_accuracy: float | None  # None: no classifier scored the generated images
    data: str
    seed: int
    command: str
    beyond: Beyond | None = None

    @property
    def scored(self) -> bool:
        """Whether a digit classifier scored the generated images (MNIST only)."""
        return self.classifier_accuracy is not None

    def table(self) -> str:
        """The main Markdown table: one row per model."""
        def scores(r: ModelClaims) -> list[str]:  # the classifier's columns, if it scored
            if not self.scored:
                return []
            return [f"{r.generation.mean_confidence:.3f}", f"{r.generation.confident_share:.1%}"]

        header = ["model", "test MSE", "codings drawn from",
                  *(["classifier confidence (mean)", f"confident (>= {CONFIDENT:g})"]
                    if self.scored else []),
                  "KS vs the prior (mean)", f"silhouette of the {SILHOUETTE_DIGIT}s",
                  f"{KNN_K}-NN accuracy"]
        rows = [[r.label, f"{r.test_mse:.4f}", f"N(0, {r.prior_sigma:g})", *scores(r),
                 f"{r.ks:.3f}", f"{r.silhouette:.3f}", f"{r.knn:.1%}"] for r in self.rows]
        return markdown_table(header, rows)

    def digit_table(self) -> str:
        """How many of each digit the classifier sees among each model's generated digits."""
        if not self.scored:
            raise ValueError(f"digit_table: this report has no digit classifier ({NOT_SCORED})")
        header = ["model"] + [str(d) for d in range(10)]
        rows = [[r.label] + [str(c) for c in r.generation.class_counts] for r in self.rows]
        return markdown_table(header, rows)

    def markdown(self) -> str:
        """The whole report as a Markdown document."""
        made = f"Made by `{self.command}` (seed {self.seed}) on {self.data} with aelib {__version__}. "
        if self.scored:
            made += ("Generated digits are scored by a small CNN trained on the same training set "
                     f"({self.classifier_accuracy:.2%} test accuracy). Each model decodes "
                     f"{N_GENERATED:,} codings drawn from its prior.")
        else:
            made += f"{NOT_SCORED[0].upper()}{NOT_SCORED[1:]}."
        parts = ["# The article's claims, measured", made, self.table()]
        confident = (f"*confident* is the share of generated digits the classifier gives at least "
                     f"{CONFIDENT:.0%} to one class (a readable digit). " if self.scored else "")
        how = ("How to read it: " + confident + "*KS* is the mean over coordinates of the "
               "Kolmogorov-Smirnov distance between the test codings and the normal the model "
               "draws from (0: identical; for a VAE, the sampled codings the decoder learns "
               f"from). The *silhouette* of the {SILHOUETTE_DIGIT}s compares their distance to each other "
               "with their distance to the other digits (1: a separate cluster, 0: mixed in). "
               f"*{KNN_K}-NN accuracy*: test digits labelled by their {KNN_K} nearest training "
               "codings.")
        if self.scored:
            ones = ", ".join(f"{r.label} {r.generation.class_counts[1]}" for r in self.rows)
            among = f"Digits among the {N_GENERATED:,} generated by each model (the classifier's top class):"
            parts += [among, self.digit_table(), f"1s among the generated digits: {ones}."]
        text = "\n\n".join([*parts, how]) + "\n"
        return text if self.beyond is None else text + "\n" + self.beyond.markdown()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table; cells are written with ``str``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _mse_rows(rows: dict[str, list[float]]) -> list[list[str]]:
    return [[label] + [f"{v:.4f}" for v in values] for label, values in rows.items()]


def _plans(plans: dict[str, str]) -> str:
    return "; ".join(f"{kind}: {plan}" for kind, plan in plans.items())


def measure_autoencoder(label: str, autoencoder: Autoencoder, data: Dataset,
                        classifier: keras.Model | None, *, seed: int = 0) -> ModelClaims:
    """One row of the report: the claims measured for one trained model.

    Args:
        label: the row's name.
        autoencoder: a trained :class:`~aelib.Autoencoder` (plain or VAE).
        data: its MNIST (codings of ``x_train`` and ``x_test`` are scored).
        classifier: a digit classifier with softmax outputs (see
            :func:`aelib.train_digit_classifier`); ``None``: the generated
            images are not scored (``generation`` is None).
        seed: seeds the generated codings, the VAE's posterior draws and the
            silhouette's subsample.
    """
    generation = None
    if classifier is not None:
        generated = autoencoder.generate(N_GENERATED, seed=seed)  # from the model's prior
        probabilities = classifier.predict(generated, batch_size=500, verbose=0)
        generation = metrics.generation_scores(np.asarray(probabilities), threshold=CONFIDENT)
    train_codings = autoencoder.encode(data.x_train)
    test_codings = autoencoder.encode(data.x_test)
    return ModelClaims(
        label=label,
        test_mse=evaluate(autoencoder, data.x_test),
        prior_sigma=autoencoder.prior_sigma,
        generation=generation,
        ks=metrics.ks_normality(sampled_codings(autoencoder, data.x_test, seed=seed),
                                sigma=autoencoder.prior_sigma),
        silhouette=metrics.digit_silhouette(test_codings, data.y_test, digit=SILHOUETTE_DIGIT,
                                            max_samples=SILHOUETTE_SAMPLES, seed=seed),
        knn=metrics.knn_accuracy(train_codings, data.y_train, test_codings, data.y_test, k=KNN_K),
    )


def compare(
    autoencoders: Mapping[str, Autoencoder],
    data: Dataset,
    classifier: keras.Model | None,
    classifier_accuracy: float | None,
    *,
    seed: int = 0,
    command: str = "aelib.report.compare",
) -> Report:
    """The report for trained models of your own (a notebook's, say).

    Args:
        autoencoders: row label -> trained :class:`~aelib.Autoencoder`.
        data: the MNIST (or other data) they were trained on.
        classifier, classifier_accuracy: from :func:`aelib.train_digit_classifier`;
            both ``None`` for a report without the classifier's columns (data
            that is not digits).
        seed: as in :func:`measure_autoencoder`.
        command: what made the report, named in its Markdown.

    Example:
        >>> classifier, accuracy = aelib.train_digit_classifier(data, seed=0)  # doctest: +SKIP
        >>> report = compare({"dense AE": dense, "dense VAE": vae}, data, classifier, accuracy)  # doctest: +SKIP
        >>> print(report.table())  # doctest: +SKIP
    """
    if not isinstance(autoencoders, Mapping) or not autoencoders:
        raise TypeError("autoencoders must be a non-empty mapping of label -> Autoencoder, "
                        f"got {describe(autoencoders)}")
    for label, ae in autoencoders.items():
        check_autoencoder(ae, f"autoencoders[{label!r}]")
    if (classifier is None) != (classifier_accuracy is None):
        raise ValueError("classifier and classifier_accuracy go together: give both or neither, "
                         f"got {describe(classifier)} and {describe(classifier_accuracy)}")
    rows = tuple(measure_autoencoder(label, ae, data, classifier, seed=seed)
                 for label, ae in autoencoders.items())
    accuracy = None if classifier_accuracy is None else float(classifier_accuracy)
    return Report(rows, accuracy, data.summary(), seed, command)


def measure(run: Run, kinds: Sequence[str] = REPORT_MODELS,
            command: str = "python -m aelib report") -> Report:
    """Measure the article's claims for each model kind (see the module notes).

    The digit classifier is trained or taken from the cache only for MNIST
    (:attr:`aelib.data.Dataset.is_mnist`); elsewhere its columns are left out.

    Args:
        run: data, seed and model cache (see :class:`aelib.cache.Run`);
            models it has not trained or cached yet are trained now.
        kinds: the rows, kinds of :data:`aelib.cache.MODELS`.
        command: the command line to name in the report.
    """
    unknown = [k for k in kinds if k not in MODELS]
    if unknown:
        raise ValueError(f"kinds: unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    if run.data.is_mnist:
        classifier, accuracy = run.digit_classifier()
    else:
        classifier = accuracy = None
        run.progress(NOT_SCORED)
    autoencoders = {MODELS[kind].label: run.model(kind).autoencoder for kind in kinds}
    run.progress("measuring " + ", ".join(autoencoders))
    return compare(autoencoders, run.data, classifier, accuracy, seed=run.seed, command=command)


def measure_beyond(run: Run) -> Beyond:
    """The studies of :mod:`aelib.studies` for ``run``, models from its cache."""
    run.progress("beyond the article: denoising")
    denoising = studies.denoising_study(run)
    run.progress("beyond the article: one-class MNIST")
    anomaly = studies.anomaly_study(run)
    run.progress("beyond the article: how many codings")
    codings = studies.codings_study(run)
    return Beyond(denoising, anomaly, codings)


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``report.markdown()`` to ``path`` atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(report.markdown())
    return path

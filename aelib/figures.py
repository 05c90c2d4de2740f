"""The article's figures as a registry.

Each figure is a small recipe: file name, number, caption, the model it needs
and a function that draws it. :func:`regenerate` gets each model once from a
:class:`aelib.cache.Run` and writes each figure atomically: an interrupted run
leaves no partial file, and the next picks up from the cache.

    from aelib.figures import regenerate
    regenerate("assets", data=aelib.load_mnist(), seed=0)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import plots, studies
from ._io import atomic_path, remove_stale_temporaries
from ._version import __version__
from .animation import interpolation_frames, save_gif
from .batches import add_noise
from .cache import MODELS, Run
from .data import Dataset
from .devices import backend_version
from .diagrams import plot_conv_architecture, plot_dense_architecture
from .vae import sampled_codings

__all__ = ["FIGURES", "FigureSpec", "gallery", "regenerate", "select", "write_figure"]

DPI = 100
PROJECTION_SAMPLES = 3000  # the article's KernelPCA sample of training images


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its file, number and caption, the model it needs, how to draw it.

    ``model``: the kind of cached model it shows (``None``: a freshly built one,
    or a study's). ``draw(run)`` returns a matplotlib Figure (saved as PNG) or
    uint8 frames (saved as GIF at ``fps``).
    """

    file: str
    number: str
    caption: str
    model: str | None
    draw: Callable[[Run], Figure | list[np.ndarray]]
    fps: float = 10.0
    also: tuple[str, ...] = ()  # more models the figure shows
    about: str | None = None  # what the gallery says of the models (figures beyond the article)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model kind the figure shows."""
        return ((self.model,) if self.model else ()) + self.also

    @property
    def name(self) -> str:
        return Path(self.file).stem


def _generated(kind):
    return lambda run: plots.plot_generated(run.model(kind).autoencoder, seed=run.seed)


def _projection(kind, n_components, method, **kw):
    def draw(run):
        codings, labels = run.codings(kind)
        return plots.plot_projection(codings, labels, n_components=n_components, method=method,
                                     n_samples=min(PROJECTION_SAMPLES, len(codings)),
                                     seed=run.seed, **kw)

    return draw


def _frames(kind):
    return lambda run: run.model(kind).frames


def _histograms(run):  # the article's coordinates, HISTOGRAM_COORDS
    return plots.plot_coding_histograms(run.codings("dense")[0], bins=20)


def _vae_histograms(run):
    """The VAE's sampled codings, with its prior over them."""
    ae = run.model("dense_vae").autoencoder
    codings = sampled_codings(ae, run.data.x_train, seed=run.seed)
    return plots.plot_coding_histograms(codings, bins=40, normal_sigma=ae.prior_sigma)


def _comparison(run):
    return plots.plot_generated_comparison(
        {MODELS[k].label: run.model(k).autoencoder for k in ("dense", "conv", "dense_vae")},
        seed=run.seed)


def _strip(run):
    x = run.data.x_test[:14]
    return plots.plot_reconstructions(x, run.model("dense").autoencoder.reconstruct(x))


def _interpolation(kind):
    def draw(run):
        """3x7 test digits walking through coding space to 4 others and back."""
        rng = np.random.default_rng(run.seed)
        sets = rng.choice(len(run.data.x_test), size=(5, 21), replace=False)
        return interpolation_frames(run.model(kind).autoencoder, run.data.x_test[sets],
                                    steps=15, closed=True)  # 5 legs of 15 frames, looping

    return draw


DENOISE_DIGITS = 12  # test digits in the denoising figure


def _denoising(run):
    sigma = studies.FIGURE_SIGMA
    clean = run.data.x_test[:DENOISE_DIGITS]
    noisy = add_noise(clean, sigma, seed=run.seed)
    best = studies.tuned_classical(run, sigma)[0]
    rows = {best.label: best(noisy)}
    for kind in ("dense", "conv"):
        rows[f"{kind} denoising AE"] = studies.denoiser(run, kind, sigma).reconstruct(noisy)
    return plots.plot_denoising(clean, noisy, rows)


def _anomaly(run):
    study = studies.anomaly_study(run, digits=(studies.ANOMALY_DIGIT,))
    fig = plots.plot_anomaly(study.scores, study.is_anomaly,
                             thresholds={k: t.threshold for k, t in study.thresholds.items()})
    fig.suptitle(f"One-class {run.data.name}: trained on the {study.digit}s, "
                 "the other digits are anomalies")
    return fig


def _codings_sweep(run):
    study = studies.codings_study(run)
    (dense, n), (conv, _) = (studies.SWEEP[k].for_run(run.quick) for k in ("dense", "conv"))
    title = (f"every size trained on the first {n:,} training images,\n"
             f"dense {dense} epochs, conv {conv} epochs")
    return plots.plot_codings_sweep(study.sizes, study.mse, title=title)


def _plans(describe) -> str:
    """``(dense: PLAN; conv: PLAN)``, the models' training plans for the gallery."""
    return "(" + "; ".join(f"{k}: {describe(k)}" for k in ("dense", "conv")) + ")"


def _codings_2d(run):
    fig = Figure(figsize=(11.0, 4.6), layout="constrained")
    for ax, kind in zip(fig.subplots(1, 2), ("dense", "conv")):
        ae = studies.sweep_model(run, kind, 2)
        plots.plot_codings_2d(ae.encode(run.data.x_test), run.data.y_test, ax=ax,
                              title=f"{kind} autoencoder, 2 codings (test digits)")
    return fig


GRID_SIZE = 15  # images per side of the decoded 2-D grid


def _latent_grid_2d(run):
    vae = studies.vae_2d_model(run)
    fig = Figure(figsize=(12.4, 5.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.2, 1))
    plots.plot_codings_2d(vae.encode(run.data.x_test), run.data.y_test, ax=left,
                          title="dense VAE, 2 codings (test digits' means)")
    grid = plots.latent_grid(GRID_SIZE, vae.prior_sigma)  # the square the right panel decodes
    side = float(grid[-1] - grid[0])
    left.add_patch(Rectangle((grid[0], grid[0]), side, side, fill=False, linestyle="--"))
    plots.plot_latent_grid(vae, n=GRID_SIZE, ax=right)
    right.set_title(f"decoded from a {GRID_SIZE} x {GRID_SIZE} grid over the prior N(0, 1)")
    return fig


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in [
        FigureSpec("k_auto0.png", "1", "A dense autoencoder (784-250-16-320-784)", None,
                   lambda run: plot_dense_architecture(MODELS["dense"].build())),
        FigureSpec("k_auto0_rec0_low.gif", "2", "Reconstruction progress, frames spaced over the training steps",
                   "dense", _frames("dense"), fps=4),
        FigureSpec("k_auto0_gen.png", "3", "Digits decoded from random codings ~ N(0, 0.33)",
                   "dense", _generated("dense")),
        FigureSpec("k_auto0_enc-hist.png", "4", "Distributions of coding coordinates",
                   "dense", _histograms),
        FigureSpec("k_auto0_kerpca2d-all.png", "5", "KernelPCA of the codings (2-dim)", "dense",
                   _projection("dense", 2, "kernel_pca", kernel="poly", gamma=0.15, degree=2,
                               cmap="inferno")),
        FigureSpec("k_auto0_kerpca3d-all.png", "6", "KernelPCA of the codings (3-dim)", "dense",
                   _projection("dense", 3, "kernel_pca", kernel="poly", gamma=0.18, degree=5,
                               cmap="PuBu_r")),
        FigureSpec("k_auto_conv1.png", "7", "Convolutional autoencoder architecture", None,
                   lambda run: plot_conv_architecture(MODELS["conv"].build())),
        FigureSpec("k_auto_conv1_rec.gif", "8",
                   "Convolutional reconstruction progress, 20 frames per epoch", "conv",
                   _frames("conv"), fps=10),
        FigureSpec("k_auto_conv1-gen.png", "9", "Convolutional: digits from random codings",
                   "conv", _generated("conv")),
        FigureSpec("k_auto_conv1_kerpca3d-all.png", "10",
                   "Convolutional: KernelPCA of the codings (3-dim)", "conv",
                   _projection("conv", 3, "kernel_pca", kernel="rbf", gamma=0.18, cmap="PuBu_r")),
        FigureSpec("k_auto0_pca2d-all.png", "extra", "PCA of the codings (2-dim)", "dense",
                   _projection("dense", 2, "pca", cmap="inferno",
                               axis_labels=("$p_1$", "$p_2$"))),
        FigureSpec("k_auto0_pca3d-all.png", "extra", "PCA of the codings (3-dim)", "dense",
                   _projection("dense", 3, "pca", cmap="PuBu_r")),
        FigureSpec("k_auto_conv1_kerpca2d-all.png", "extra",
                   "Convolutional: KernelPCA of the codings (2-dim)", "conv",
                   _projection("conv", 2, "kernel_pca", kernel="rbf", gamma=0.18,
                               cmap="inferno")),
        FigureSpec("k_auto0_rec-test.png", "extra",
                   "Test digits (top) and their reconstructions (bottom)", "dense", _strip),
        FigureSpec("k_auto0_inter.gif", "extra",
                   "Walking in a straight line between the codings of test digits", "dense",
                   _interpolation("dense"), fps=1000 / 130),
        FigureSpec("k_vae_gen.png", "VAE", "Variational: digits from random codings ~ N(0, 1)",
                   "dense_vae", _generated("dense_vae")),
        FigureSpec("k_vae_enc-hist.png", "VAE",
                   "Variational: sampled codings against the prior N(0, 1)", "dense_vae",
                   _vae_histograms),
        FigureSpec("k_vae_kerpca3d-all.png", "VAE",
                   "Variational: KernelPCA of the codings (3-dim, rbf kernel)", "dense_vae",
                   # rbf, not Figure 6's polynomial: on unbounded VAE codings (not tanh's
                   # (-1, 1)) a degree-5 polynomial is ruled by a few outlying codings
                   _projection("dense_vae", 3, "kernel_pca", kernel="rbf", gamma=0.03,
                               cmap="PuBu_r")),
        FigureSpec("k_vae_inter.gif", "VAE",
                   "Variational: walking in a straight line between codings", "dense_vae",
                   _interpolation("dense_vae"), fps=1000 / 130),
        FigureSpec("k_gen_compare.png", "VAE",
                   "Digits from random codings: dense AE, conv AE and VAE, each from its prior",
                   "dense_vae", _comparison, also=("dense", "conv")),
        FigureSpec("k_denoise.png", "beyond",
                   "Denoising: noisy test digits (sigma 0.4), denoised, and clean", None,
                   _denoising, about="denoising autoencoders, dense and conv "
                   + _plans(lambda k: studies.denoiser_recipe(k, False))),
        FigureSpec("k_anomaly.png", "beyond",
                   f"Anomaly detection: one-class MNIST on the {studies.ANOMALY_DIGIT}s, "
                   "error histograms and ROC curves", None, _anomaly,
                   about="one-class dense and conv autoencoders and PCA "
                   + _plans(lambda k: studies.ONE_CLASS[k].describe(False))),
        FigureSpec("k_codings.png", "beyond", "How many codings: test MSE against codings",
                   None, _codings_sweep,
                   about="dense and conv autoencoders and PCA, 2 to 64 codings "
                   + _plans(lambda k: studies.SWEEP[k].describe(False))),
        FigureSpec("k_codings2d.png", "beyond", "A 2-coding model's coding space, as it is",
                   None, _codings_2d, about="the codings sweep's 2-coding models"),
        FigureSpec("k_vae_grid2d.png", "beyond",
                   "A 2-coding VAE's coding space, and the digits it decodes from a grid over its prior",
                   None, _latent_grid_2d,
                   about=f"a dense VAE with 2 codings ({studies.SWEEP['dense'].describe(False)}, "
                   "as the sweep's 2-coding dense model)"),
    ]
}


def select(names: Iterable[str] | None) -> list[FigureSpec]:
    """The figures named (by name, file name or figure number), in registry order.

    Raises:
        ValueError: naming the unknown names and the known ones.
    """
    if not names:
        return list(FIGURES.values())
    names = list(names)
    unknown = [n for n in names if not any(n in (s.name, s.file, s.number) for s in FIGURES.values())]
    if unknown:
        raise ValueError(f"unknown figure {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(FIGURES)}")
    return [s for s in FIGURES.values() if any(n in (s.name, s.file, s.number) for n in names)]


def write_figure(spec: FigureSpec, run: Run, out: Path) -> Path:
    """Draw one figure and write it atomically into ``out``; return its path."""
    result = spec.draw(run)
    path = out / spec.file
    if spec.file.endswith(".gif"):
        save_gif(result, path, fps=spec.fps)
    else:
        with atomic_path(path) as tmp:
            result.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path


def gallery(specs: list[FigureSpec], models: dict[str, dict], data: Dataset, seed: int,
            command: str) -> str:
    """The Markdown gallery of a regeneration: each figure, caption, model and command."""
    lines = [
        "# The article's figures, regenerated",
        "",
        (f"Made by `{command}` (seed {seed}) on {data.summary()} with aelib {__version__} "
         f"and Keras {keras.__version__}, backend: {backend_version()}. "
         "Regenerate one figure with `--only NAME`; trained models are cached, so that does not "
         "retrain."),
        "",
        "| model | epochs | batch size | computed in | test MSE | training time |",
        "|---|---|---|---|---|---|",
    ]
    for kind, info in models.items():
        cfg = info["config"]
        lines.append(f"| {MODELS[kind].label} | {cfg['epochs']} | {cfg['batch_size']} | "
                     f"{cfg['dtype_policy']} | {info['test_mse']:.4f} | "
                     f"{info['train_seconds']:.0f} s |")
    for spec in specs:
        model = spec.about or (" · ".join(f"{MODELS[k].label}, test MSE {models[k]['test_mse']:.4f}"
                                          for k in spec.models if k in models)
                               or "drawn from the model's layers")
        title = {"extra": "Extra", "VAE": "Beyond the article",
                 "beyond": "Beyond the article"}.get(spec.number, f"Figure {spec.number}")
        lines += ["", f"## {title}: {spec.caption}", "", f"![{spec.caption}]({spec.file})", "",
                  f"`{spec.file}` · {model} · `{command} --only {spec.name}`"]
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    """What :func:`regenerate` made: one row per figure, and the models used."""

    rows: list[dict]
    models: dict[str, dict]
    data_source: str
    training_seconds: float  # of the run's wall time, spent training models


def regenerate(
    out: str | os.PathLike,
    *,
    data: Dataset,
    names: Iterable[str] | None = None,
    seed: int = 0,
    quick: bool = False,
    cache_dir: str | os.PathLike | None = ".aelib-cache",
    retrain: bool = False,
    progress: Callable[[str], None] = lambda message: None,
    command: str = "python -m aelib figures",
) -> Result:
    """Draw the chosen figures (all by default) into ``out``.

    Args:
        out: folder to write into (created if needed).
        data: MNIST (or other data in its layout) to train and draw on.
        names: figure names, file names or numbers (see :data:`FIGURES`).
        seed: one seed for the whole regeneration.
        quick: a few epochs instead of the article's.
        cache_dir: where trained models are kept; ``None`` keeps none.
        retrain: train again even when the cache has a matching model.
        progress: called with one-line progress messages.
        command: the command line to name in the gallery.

    When every figure is drawn, ``out/README.md`` gets a gallery of them.

    Returns:
        A :class:`Result` with figure, file and seconds per figure, and each
        model's test MSE.
    """
    specs = select(names)
    out = Path(out)
    run = Run(data, seed=seed, quick=quick, cache_dir=cache_dir, retrain=retrain, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    rows = []
    for i, spec in enumerate(specs, 1):
        progress(f"[{i}/{len(specs)}] figure {spec.number}: {spec.file}")
        start = time.perf_counter()
        path = write_figure(spec, run, out)
        rows.append({"figure": spec.number, "file": str(path), "caption": spec.caption,
                     "seconds": time.perf_counter() - start})
    models = {k: m.info for k, m in run.models.items()}
    if len(specs) == len(FIGURES):
        with atomic_path(out / "README.md") as tmp:
            tmp.write_text(gallery(specs, models, data, seed, command))
    return Result(rows, models, data.source, run.training_seconds)

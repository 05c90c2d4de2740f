"""The article's plots as pure functions: arrays or models in, a ``Figure`` out.

Each function builds a :class:`matplotlib.figure.Figure` without ``pyplot``, so
no global state is touched and the caller shows or saves it::

    fig = plot_generated(ae, seed=0)
    fig.savefig("k_auto0_gen.png", dpi=100)

Functions that draw one picture also take ``ax=`` (and return its figure).
Default sizes are the article's PNGs at 1.5 times their pixels (``dpi=100``);
constrained layout fits titles, labels and colour bars inside them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Colormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from .anomaly import check_flags, check_scores, roc_auc
from .data import (
    check_images,
    check_labels,
    check_number,
    check_positive_int,
    describe,
    tile_images,
)
from .models import Autoencoder, check_autoencoder

__all__ = [
    "HISTOGRAM_COORDS", "METHODS", "image_grid", "plot_anomaly", "plot_coding_histograms",
    "plot_codings_2d", "plot_codings_sweep", "plot_denoising", "plot_generated",
    "plot_generated_comparison", "plot_history", "plot_latent_grid", "plot_projection",
    "plot_reconstructions", "project_codings",
]

#: the coding coordinates the article's Figure 4 shows
HISTOGRAM_COORDS = (0, 1, 2, 4, 5, 6, 7, 14)
METHODS = ("pca", "kernel_pca")
#: KernelPCA's solver: faster than "dense" on thousands of codings, same leading components
DEFAULT_EIGEN_SOLVER = "randomized"

# default sizes in inches: the published PNG's pixels x 1.5 / 100 (saved at dpi=100)
_GRID_INCH_PER_PIXEL = 1 / 56  # a 28-pixel digit is half an inch
_GRID_MARGIN = 0.5  # inches around a grid; 3x12 digits then give 650x200 px (429x132 x1.5)
_HIST_PANEL = (3.215, 3.18)  # 2x4 panels give 1286x636 px (857x424 x1.5)
_PROJECTION_2D = (5.94, 4.86)  # 396x324 px x1.5
_PROJECTION_3D = (7.56, 4.32)  # kerpca3d: 504x288 px x1.5
_PCA_3D = (7.56, 3.78)  # pca3d: 504x252 px x1.5
_HISTORY = (6.4, 4.0)
# 3D projections: [left, bottom, width, height] in figure fractions, as in the article
_AXES_3D = (-0.05, 0.0, 0.88, 1.0)
_BOX_3D = (5, 5, 3)  # flatter than mplot3d's (4, 4, 3): uses the wide figure, nothing clipped
_ZOOM_3D = 0.95
_COLORBAR_3D = (0.84, 0.06, 0.025, 0.88)
_LABEL_SIZE = 14  # axis labels, panel titles and colour-bar ticks, as in the article
_MAX_INCHES = 16.0  # a default figure is scaled down to fit this


# --- argument checks and drawing helpers ---
def check_figsize(figsize, default, ax: Axes | None = None) -> tuple[float, float] | None:
    """``figsize`` as two floats > 0, ``default`` for None; refused with an ``ax`` given.

    Checked up front: matplotlib takes a zero width and fails only on saving, not naming it.
    """
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {describe(ax)}")
    if figsize is None:
        return default
    if ax is not None:
        raise ValueError("figsize is only used when a new figure is made; with ax= given, "
                         f"size that Axes' figure instead (got figsize={figsize!r})")
    try:
        width, height = (check_number(v, "figsize", 0.0, lo_open=True) for v in figsize)
    except (TypeError, ValueError):
        raise ValueError(f"figsize must be (width, height) in inches, two positive numbers, "
                         f"got {describe(figsize)}") from None
    return width, height


def _sigma_or_prior(autoencoder: Autoencoder, sigma) -> float:
    """``sigma`` checked (a number > 0), or the model's ``prior_sigma`` where it is None."""
    return float(autoencoder.prior_sigma if sigma is None
                 else check_number(sigma, "sigma", 0.0, lo_open=True))


def _figure_and_axes(ax, figsize, default: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure of ``figsize`` (else ``default``) and its Axes."""
    figsize = check_figsize(figsize, default, ax)
    if ax is not None:
        return ax.get_figure(root=True), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _panels(n_rows: int, n_cols: int, figsize) -> tuple[Figure, np.ndarray]:
    """A new constrained-layout figure and its Axes, row by row."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(n_rows, n_cols, squeeze=False).ravel()


def _check_named(mapping, name: str, what: str) -> dict:
    """A non-empty mapping with str keys (labels or titles), as a dict."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise TypeError(f"{name} must be a non-empty mapping of label -> {what}, "
                        f"got {describe(mapping)}")
    for label in mapping:
        if not isinstance(label, str):
            raise TypeError(f"the keys of {name} must be str labels, got {describe(label)}")
    return dict(mapping)


def _check_codings(codings) -> np.ndarray:
    """``(N, n_codings)`` finite numbers with N >= 1, returned as a float array."""
    arr = np.asarray(codings)
    if arr.dtype.kind not in "iuf":
        raise TypeError("codings must be a 2-D array of numbers (N, n_codings), "
                        f"got {describe(codings)}")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"codings must have shape (N, n_codings) with N >= 1, got {describe(arr)}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"codings must be finite, got NaN or inf values in {describe(arr)}")
    return arr


def _check_classes(labels, n: int, n_classes) -> tuple[np.ndarray, int]:
    """``n`` labels of classes ``0 .. n_classes - 1``, and ``n_classes``."""
    labels = check_labels(labels, n, "labels", "codings")
    n_classes = check_positive_int(n_classes, "n_classes")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be classes in 0 .. {n_classes - 1} "
                         f"(n_classes={n_classes}), got values in [{labels.min()}, {labels.max()}]")
    return labels, n_classes


def _class_colours(cmap: Colormap, n_classes: int) -> dict:
    """``scatter`` keywords that give each class 0 .. n_classes - 1 its own band of ``cmap``."""
    return {"cmap": cmap.resampled(n_classes),
            "norm": BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)}


def _grid_figsize(n_rows: int, n_cols: int, height: int, width: int,
                  extra_width: float = 0.0) -> tuple[float, float]:
    """Half an inch per 28 pixels plus margins, scaled down to at most _MAX_INCHES."""
    w = n_cols * width * _GRID_INCH_PER_PIXEL
    h = n_rows * height * _GRID_INCH_PER_PIXEL
    scale = min(1.0, (_MAX_INCHES - _GRID_MARGIN - extra_width) / w,
                (_MAX_INCHES - _GRID_MARGIN) / h)
    return w * scale + _GRID_MARGIN + extra_width, h * scale + _GRID_MARGIN


def _check_drawable(images, name: str) -> np.ndarray:
    """:func:`~aelib.data.check_images`, and channels that ``imshow`` draws: 1, 3 or 4."""
    images = check_images(images, name)
    if images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name} must have 1 (grey), 3 (RGB) or 4 (RGBA) channels, "
                         f"got {describe(images)}")
    return images


def _show_tile(ax: Axes, tile: np.ndarray) -> None:
    """Draw an ``(H, W, C)`` tile in [0, 1]: grey in 'gray' (0 is black), colour as is."""
    if tile.shape[-1] == 1:
        ax.imshow(tile[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(tile, interpolation="nearest")
    ax.set_facecolor("black")


def _image_rows(ax, figsize, rows: Sequence[tuple[str, np.ndarray]], extra_width: float) -> Figure:
    """``(label, images)`` rows of n images of one shape as one grid, labelled on the left."""
    names, batches = zip(*rows)
    n, h, w, _ = batches[0].shape
    fig, ax = _figure_and_axes(ax, figsize, _grid_figsize(len(rows), n, h, w, extra_width))
    _show_tile(ax, tile_images(np.concatenate(batches), len(rows), n))
    ax.set_xticks([])
    ax.set_yticks([(i + 0.5) * h - 0.5 for i in range(len(rows))], names)
    ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig


# --- image grids: generated digits, reconstructions ---
def image_grid(
    images: np.ndarray,
    n_rows: int,
    n_cols: int,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Show ``n_rows * n_cols`` images as one grid, row by row, without ticks.

    Args:
        images: ``(n_rows * n_cols, H, W, C) float`` in ``[0, 1]``; grey
            (``C = 1``) in the 'gray' colormap (0 is black), colour as it is.
        n_rows, n_cols: the grid.
        ax: draw on this Axes instead of a new figure; its figure is returned.
        figsize: of the new figure, in inches; by default half an inch per 28
            pixels plus a margin (3x12 MNIST digits: 6.5x2.0 in).

    Example:
        >>> fig = image_grid(data.x_test[:21], 3, 7)  # doctest: +SKIP
        >>> fig.savefig("digits.png", dpi=100)  # doctest: +SKIP
    """
    images = _check_drawable(images, "images")
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    tile = tile_images(images, n_rows, n_cols)  # checks that the images fill the grid
    fig, ax = _figure_and_axes(ax, figsize, _grid_figsize(n_rows, n_cols, *images.shape[1:3]))
    _show_tile(ax, tile)
    ax.set_axis_off()
    return fig


def plot_generated(
    autoencoder: Autoencoder,
    *,
    n_rows: int = 3,
    n_cols: int = 12,
    sigma: float | None = None,
    seed: int | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Figures 3 and 9: images decoded from random codings ~ N(0, sigma).

    Args:
        autoencoder: a (trained) :class:`~aelib.Autoencoder`.
        n_rows, n_cols: the grid of ``n_rows * n_cols`` codings (the article: 3 x 12).
        sigma: standard deviation of every coding coordinate; ``None``: the
            model's ``prior_sigma`` (0.33 for the article's autoencoders, 1 for a VAE).
        seed: seeds the random codings.
        ax, figsize: as in :func:`image_grid`.
    """
    check_autoencoder(autoencoder)
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    sigma = _sigma_or_prior(autoencoder, sigma)
    check_figsize(figsize, None, ax)  # before generating
    images = autoencoder.generate(n_rows * n_cols, sigma=sigma, seed=seed)
    return image_grid(images, n_rows, n_cols, ax=ax, figsize=figsize)


def plot_generated_comparison(
    autoencoders: Mapping[str, Autoencoder],
    *,
    n_rows: int = 6,
    n_cols: int = 6,
    seed: int | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Digits generated by several models side by side, one titled panel each.

    Each model decodes ``n_rows * n_cols`` codings drawn from its own prior,
    N(0, ``autoencoder.prior_sigma``).

    Args:
        autoencoders: panel title -> trained :class:`~aelib.Autoencoder`, in
            drawing order (e.g. ``{"dense AE": ..., "VAE": ...}``).
        n_rows, n_cols: each panel's grid.
        seed: seeds every model's random codings (the same seed for each).
        figsize: by default each panel as :func:`image_grid` sizes it, side by side.
    """
    autoencoders = _check_named(autoencoders, "autoencoders", "Autoencoder")
    for title, ae in autoencoders.items():
        check_autoencoder(ae, f"autoencoders[{title!r}]")
    n_rows = check_positive_int(n_rows, "n_rows")
    n_cols = check_positive_int(n_cols, "n_cols")
    first = next(iter(autoencoders.values()))
    width, height = _grid_figsize(n_rows, n_cols, *first.input_shape[:2])
    figsize = check_figsize(figsize, (width * len(autoencoders), height + 0.6))
    fig, axes = _panels(1, len(autoencoders), figsize)
    for ax, (title, ae) in zip(axes, autoencoders.items()):
        images = ae.generate(n_rows * n_cols, sigma=ae.prior_sigma, seed=seed)
        image_grid(images, n_rows, n_cols, ax=ax)
        ax.set_title(f"{title}\nN(0, {ae.prior_sigma:g})", fontsize=_LABEL_SIZE - 2)
    return fig


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Originals in the top row, their reconstructions in the bottom row.

    Args:
        originals: ``(n, H, W, C) float`` in ``[0, 1]``.
        reconstructions: the same shape, e.g. ``autoencoder.reconstruct(originals)``.
        ax, figsize: as in :func:`image_grid`, with room for the rows' labels
            "original" and "reconstruction".
    """
    originals = _check_drawable(originals, "originals")
    reconstructions = check_images(reconstructions, "reconstructions")
    if originals.shape != reconstructions.shape:
        raise ValueError(f"reconstructions must have the shape of originals, got "
                         f"{reconstructions.shape} for {originals.shape}")
    rows = [("original", originals), ("reconstruction", reconstructions)]
    return _image_rows(ax, figsize, rows, extra_width=1.3)


# --- codings: histograms and (kernel) PCA projections ---
def _check_coords(coords, n_codings: int) -> list[int]:
    """One coordinate index, or a non-empty sequence of them, each in ``0 .. n_codings - 1``."""
    if isinstance(coords, (int, np.integer)):
        coords = (coords,)
    if not isinstance(coords, (Sequence, np.ndarray)) or isinstance(coords, str) or not len(coords):
        raise TypeError("coords must be a non-empty sequence of coordinate indices, "
                        f"got {describe(coords)}")
    for i, c in enumerate(coords):
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise TypeError(f"coords[{i}] must be an integer index, got {describe(c)}")
        if not 0 <= c < n_codings:
            raise ValueError(f"coords[{i}] = {c} is out of range: codings have {n_codings} "
                             f"coordinates, 0 .. {n_codings - 1}")
    return list(coords)


def plot_coding_histograms(
    codings: np.ndarray,
    coords: Sequence[int] = HISTOGRAM_COORDS,
    *,
    bins: int = 20,
    n_cols: int = 4,
    normal_sigma: float | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Figure 4: density histograms of chosen coding coordinates, one panel each.

    Args:
        codings: ``(N, n_codings) float``, e.g. the encoded training set.
        coords: the coordinates to show, each in ``0 .. n_codings - 1``
            (the article: 0, 1, 2, 4, 5, 6, 7, 14).
        bins: bins per histogram.
        n_cols: panels per row; the rows follow from ``len(coords)``.
        normal_sigma: also draw the density of N(0, normal_sigma), which a
            generator samples codings from (1.0 for a variational autoencoder).
        figsize: by default 3.215x3.18 in per panel.

    Returns:
        The figure with ``len(coords)`` Axes titled "Coord i".
    """
    codings = _check_codings(codings)
    coords = _check_coords(coords, codings.shape[1])
    bins = check_positive_int(bins, "bins")
    if normal_sigma is not None:
        normal_sigma = check_number(normal_sigma, "normal_sigma", 0.0, lo_open=True)
    n_cols = min(check_positive_int(n_cols, "n_cols"), len(coords))
    n_rows = math.ceil(len(coords) / n_cols)
    figsize = check_figsize(figsize, (_HIST_PANEL[0] * n_cols, _HIST_PANEL[1] * n_rows))

    fig, axes = _panels(n_rows, n_cols, figsize)
    for ax, c in zip(axes, coords):
        ax.hist(codings[:, c], bins=bins, density=True)
        if normal_sigma is not None:
            lo, hi = ax.get_xlim()
            t = np.linspace(min(lo, -3 * normal_sigma), max(hi, 3 * normal_sigma), 200)
            density = (np.exp(-0.5 * (t / normal_sigma) ** 2)
                       / (normal_sigma * math.sqrt(2 * math.pi)))
            ax.plot(t, density, color="C1", linewidth=2, label=f"N(0, {normal_sigma:g})")
        ax.set_title(f"Coord {int(c)}", fontsize=_LABEL_SIZE)
    if normal_sigma is not None:
        axes[0].legend(loc="upper left", fontsize=_LABEL_SIZE - 4, frameon=False)
    for ax in axes[len(coords):]:
        ax.remove()
    return fig


def _check_projection(
    codings, n_components, method, kernel, gamma, degree, eigen_solver, kernel_params
) -> tuple[np.ndarray, int, dict]:
    """Check project_codings' own arguments; return codings, n_components and KernelPCA's kwargs.

    scikit-learn checks kernel, gamma, degree, eigen_solver and coef0 itself, naming them.
    """
    codings = _check_codings(codings)
    n_components = check_positive_int(n_components, "n_components")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "pca":  # PCA refuses too many components itself
        if kernel_params:
            raise TypeError(f"kernel parameters {sorted(kernel_params)} only apply to "
                            "method='kernel_pca'")
        return codings, n_components, {}
    # KernelPCA would return fewer components, or ignore unknown parameters, without a word
    if n_components > len(codings):
        raise ValueError(f"n_components must be at most the number of codings ({len(codings)}) "
                         f"for method='kernel_pca', got {n_components}")
    params = dict(kernel_params)
    kwargs = {"kernel": kernel, "gamma": gamma, "degree": degree, "eigen_solver": eigen_solver,
              "coef0": params.pop("coef0", 1)}  # KernelPCA's default coef0
    if params and not callable(kernel):
        raise TypeError(
            f"unknown kernel parameters {sorted(params)} for kernel={kernel!r}: named "
            "kernels take gamma, degree and coef0 (other keywords go to callable kernels)"
        )
    return codings, n_components, {**kwargs, "kernel_params": params or None}


def _project(codings: np.ndarray, n_components: int, method: str, kwargs: dict,
             seed: int | None) -> np.ndarray:
    from sklearn.decomposition import PCA, KernelPCA  # sklearn loads only when needed

    if method == "pca":
        return PCA(n_components=n_components, random_state=seed).fit_transform(codings)
    kpca = KernelPCA(n_components=n_components, random_state=seed, **kwargs)
    return kpca.fit_transform(codings)


def project_codings(
    codings: np.ndarray,
    n_components: int = 2,
    *,
    method: str = "kernel_pca",
    kernel: str | Callable = "poly",
    gamma: float | None = 0.15,
    degree: int = 2,
    eigen_solver: str = DEFAULT_EIGEN_SOLVER,
    seed: int | None = None,
    **kernel_params,
) -> np.ndarray:
    """Project codings onto their first principal components (plain or kernel PCA, fitted on them).

    Args:
        codings: ``(N, n_codings) float``.
        n_components: how many components to keep (at most N; for "pca" also
            at most n_codings).
        method: ``"pca"`` (:class:`sklearn.decomposition.PCA`, which ignores the
            kernel arguments) or ``"kernel_pca"`` (:class:`~sklearn.decomposition.KernelPCA`).
        kernel, gamma, degree, eigen_solver: KernelPCA's; ``kernel`` is a name
            (``"poly"``, ``"rbf"``, ``"cosine"``, ...) or a callable ``k(x, y)``.
        seed: seeds the randomized / arpack solvers.
        **kernel_params: ``coef0`` (poly and sigmoid), or keywords for a
            callable kernel.

    Returns:
        ``(N, n_components) float`` projections (each component's sign is arbitrary).

    Example:
        >>> z = project_codings(ae.encode(x), 2, kernel="rbf", gamma=0.18)  # doctest: +SKIP
    """
    codings, n_components, kwargs = _check_projection(
        codings, n_components, method, kernel, gamma, degree, eigen_solver, kernel_params
    )
    return _project(codings, n_components, method, kwargs, seed)


def _check_axis_labels(axis_labels, n_components: int) -> Sequence[str]:
    if axis_labels is None:
        return ("$x$", "$y$", "$z$")[:n_components]
    if (isinstance(axis_labels, str) or not isinstance(axis_labels, Sequence)
            or len(axis_labels) != n_components
            or not all(isinstance(s, str) for s in axis_labels)):
        raise ValueError(f"axis_labels must be {n_components} strings, got {describe(axis_labels)}")
    return axis_labels


def _scatter_projection(z: np.ndarray, labels: np.ndarray, cmap: Colormap, n_classes: int,
                        axis_labels: Sequence[str], figsize: tuple[float, float]) -> Figure:
    """Scatter 2 or 3 columns of projections coloured by class, with a discrete colour bar."""
    if z.shape[1] == 2:
        fig, ax = _figure_and_axes(None, figsize, None)
    else:  # constrained layout shrinks an mplot3d Axes to a third of the width: place by hand
        fig = Figure(figsize=figsize)
        ax = fig.add_axes(_AXES_3D, projection="3d")
        ax.set_box_aspect(_BOX_3D, zoom=_ZOOM_3D)
    points = ax.scatter(*z.T, c=labels, **_class_colours(cmap, n_classes))
    ax.set_xlabel(axis_labels[0], fontsize=_LABEL_SIZE)
    if z.shape[1] == 2:
        ax.set_ylabel(axis_labels[1], fontsize=_LABEL_SIZE, rotation=0)  # upright, as published
        bar = fig.colorbar(points, ax=ax, ticks=np.arange(n_classes))
    else:
        ax.set_ylabel(axis_labels[1], fontsize=_LABEL_SIZE)
        ax.set_zlabel(axis_labels[2], fontsize=_LABEL_SIZE)
        bar = fig.colorbar(points, cax=fig.add_axes(_COLORBAR_3D), ticks=np.arange(n_classes))
    bar.ax.tick_params(labelsize=_LABEL_SIZE)
    return fig


def plot_projection(
    codings: np.ndarray,
    labels: np.ndarray,
    *,
    n_components: int = 2,
    method: str = "kernel_pca",
    kernel: str | Callable = "poly",
    gamma: float | None = 0.15,
    degree: int = 2,
    cmap: str | Colormap = "inferno",
    n_samples: int = 3000,
    n_classes: int = 10,
    axis_labels: Sequence[str] | None = None,
    eigen_solver: str = DEFAULT_EIGEN_SOLVER,
    seed: int | None = None,
    figsize: tuple[float, float] | None = None,
    **kernel_params,
) -> Figure:
    """Figures 5, 6 and 10: a random subsample of codings projected to 2D or 3D.

    ``n_samples`` codings drawn at random are projected with
    :func:`project_codings` (fitted on that subsample) and scattered, coloured
    by label, with a discrete colour bar: one band per class, its tick in the middle.

    The article's settings: Fig. 5 ``kernel="poly", gamma=0.15, degree=2,
    cmap="inferno"``; Fig. 6 ``n_components=3, kernel="poly", gamma=0.18,
    degree=5, cmap="PuBu_r"``; Fig. 10 ``n_components=3, kernel="rbf",
    gamma=0.18, cmap="PuBu_r"``; the PCA extras ``method="pca"``.

    Args:
        codings: ``(N, n_codings) float``.
        labels: ``(N,) int`` classes in ``0 .. n_classes - 1`` (digits 0..9).
        n_components: 2 (plain axes) or 3 (an mplot3d Axes).
        method, kernel, gamma, degree, eigen_solver, **kernel_params: as in
            :func:`project_codings`.
        cmap: colormap (or its name); resampled to ``n_classes`` colours.
        n_samples: how many codings to show (all of them if fewer).
        n_classes: number of classes in the colour bar.
        axis_labels: one per component; by default ``$x$, $y$(, $z$)``.
        seed: seeds the subsample and the eigen solver.
        figsize: by default the published size x1.5: 2D 5.94x4.86 in,
            3D 7.56x4.32 in (PCA 7.56x3.78 in).

    Returns:
        The figure: the scatter Axes first, the colour bar's Axes second.
    """
    codings, n_components, kwargs = _check_projection(
        codings, n_components, method, kernel, gamma, degree, eigen_solver, kernel_params
    )
    labels, n_classes = _check_classes(labels, len(codings), n_classes)
    if n_components not in (2, 3):
        raise ValueError(f"n_components must be 2 or 3 to plot, got {n_components}")
    cmap = matplotlib.colormaps.get_cmap(cmap)
    n_samples = check_positive_int(n_samples, "n_samples")
    if n_components > min(len(codings), n_samples):
        raise ValueError(f"n_samples must be at least n_components ({n_components}), got "
                         f"{n_samples} (codings hold {len(codings)})")
    axis_labels = _check_axis_labels(axis_labels, n_components)
    default_3d = _PCA_3D if method == "pca" else _PROJECTION_3D
    figsize = check_figsize(figsize, _PROJECTION_2D if n_components == 2 else default_3d)

    rng = np.random.default_rng(seed)
    n = len(codings)
    idx = rng.choice(n, size=n_samples, replace=False) if n_samples < n else rng.permutation(n)
    solver_seed = int(rng.integers(2**31 - 1))
    z = _project(codings[idx], n_components, method, kwargs, solver_seed)
    return _scatter_projection(z, labels[idx], cmap, n_classes, axis_labels, figsize)


# --- training history ---
def plot_history(
    history,
    *,
    log_y: bool = False,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """The loss (and ``val_loss`` if present) per epoch, epochs numbered from 1.

    Args:
        history: a ``keras.callbacks.History`` (what :func:`aelib.train`
            returns) or its ``.history`` dict: ``{"loss": [...], "val_loss": [...]}``.
        log_y: use a logarithmic loss axis.
        ax, figsize: as in :func:`image_grid` (default 6.4x4.0 in).

    Returns:
        The figure: one Axes with a "training" line (and a "validation" line).
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError("history must be a keras History or its .history dict, "
                        f"got {describe(history)}")
    if "loss" not in logs:
        raise ValueError(f"history must have a 'loss' entry, got keys {sorted(logs)}")
    # a diverged run's NaN losses are drawn as gaps, not refused
    curves = {"training": check_scores(logs["loss"], "history['loss']", finite=False)}
    n_epochs = len(curves["training"])
    if "val_loss" in logs:
        curves["validation"] = check_scores(logs["val_loss"], "history['val_loss']", finite=False)
        if len(curves["validation"]) != n_epochs:
            raise ValueError(f"history['val_loss'] must have one value per epoch ({n_epochs}), "
                             f"got {len(curves['validation'])}")
    if log_y and any(c.min() <= 0 for c in curves.values()):
        raise ValueError("log_y=True needs positive losses, got a loss <= 0 in history")
    fig, ax = _figure_and_axes(ax, figsize, _HISTORY)
    epochs = np.arange(1, n_epochs + 1)
    for label, values in curves.items():
        ax.plot(epochs, values, marker="o" if n_epochs <= 30 else None, label=label)
    if log_y:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


# --- beyond the article: denoising, anomaly scores, how many codings ---
def plot_denoising(
    clean: np.ndarray,
    noisy: np.ndarray,
    denoised: Mapping[str, np.ndarray],
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Noisy digits, what each denoiser makes of them, and the clean digits, one row each.

    Args:
        clean: ``(n, H, W, C) float`` in [0, 1], the digits without noise.
        noisy: the same shape, the denoisers' input (e.g. ``aelib.add_noise(clean, 0.4)``).
        denoised: row label -> the same shape, e.g.
            ``{"dense DAE": dae.reconstruct(noisy), "median 3x3": ...}``.
        figsize: by default half an inch per 28 pixels, plus room for the
            rows' labels: "noisy", the ``denoised`` labels, "clean".
    """
    clean = _check_drawable(clean, "clean")
    denoised = _check_named(denoised, "denoised", "images")
    rows = [("noisy", "noisy", noisy), *((k, f"denoised[{k!r}]", v) for k, v in denoised.items())]
    checked = []
    for label, name, images in rows:
        images = check_images(images, name, shape=clean.shape[1:])
        if len(images) != len(clean):
            raise ValueError(f"{name} must hold as many images as clean ({len(clean)}), "
                             f"got {describe(images)}")
        checked.append((label, images))
    return _image_rows(None, figsize, [*checked, ("clean", clean)], extra_width=3.0)


def _score_histogram(ax: Axes, label: str, scores: np.ndarray, flags: np.ndarray, bins: int,
                     threshold: float | None) -> None:
    """Normal and anomalous images' scores, log-spaced bins, and the threshold if given."""
    edges = np.geomspace(scores.min(), scores.max(), bins + 1)
    ax.hist(scores[~flags], edges, density=True, alpha=0.6, color="tab:blue", label="normal")
    ax.hist(scores[flags], edges, density=True, alpha=0.6, color="tab:red", label="anomalous")
    if threshold is not None:
        ax.axvline(threshold, color="black", ls="--", lw=1, label="mean + 1 std")
    ax.set_xscale("log")
    ax.set(title=label, xlabel="reconstruction error (MSE)", yticks=[])
    ax.legend(fontsize=8, frameon=False)


def _roc_panel(ax: Axes, scores: Mapping[str, np.ndarray], flags: np.ndarray) -> None:
    """Each model's ROC curve, its AUC in the legend, and the chance diagonal."""
    from sklearn.metrics import roc_curve

    for label, s in scores.items():
        fpr, tpr, _ = roc_curve(flags, s)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc(s, flags):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="lower right")


def plot_anomaly(
    scores: Mapping[str, np.ndarray],
    is_anomaly: np.ndarray,
    *,
    thresholds: Mapping[str, float] | None = None,
    bins: int = 60,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Anomaly scores of several models: a histogram each, normal against anomalous,
    then one panel of their ROC curves (AUC in the legend).

    Args:
        scores: model label -> ``(N,)`` anomaly scores > 0 of the same N
            images (reconstruction errors; drawn on a log axis).
        is_anomaly: ``(N,)`` booleans, True for the anomalies.
        thresholds: model label -> a threshold to mark in its histogram
            (e.g. mean + 1 std of the training errors).
        bins: histogram bins (log-spaced over each model's scores).
        figsize: default 4 inches per panel by 3.6.
    """
    scores = _check_named(scores, "scores", "(N,) scores")
    for label, s in scores.items():
        name = f"scores[{label!r}]"
        scores[label] = s = check_scores(s, name)
        flags = check_flags(is_anomaly, len(s), name, both_classes=True)
        if s.min() <= 0:
            raise ValueError(f"{name} must be finite and positive (a log axis), "
                             f"got values in [{s.min():g}, {s.max():g}]")
    thresholds = {} if thresholds is None else _check_named(thresholds, "thresholds", "float")
    bins = check_positive_int(bins, "bins")
    figsize = check_figsize(figsize, (4.0 * (len(scores) + 1), 3.6))
    fig, axes = _panels(1, len(scores) + 1, figsize)
    for ax, (label, s) in zip(axes, scores.items()):
        _score_histogram(ax, label, s, flags, bins, thresholds.get(label))
    _roc_panel(axes[-1], scores, flags)
    return fig


def plot_codings_sweep(
    sizes: Sequence[int],
    mse: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Test MSE against the number of codings, one line per model, both axes logarithmic.

    Args:
        sizes: the numbers of codings (x axis, base-2 log scale).
        mse: model label -> one test MSE per size (e.g. :func:`aelib.codings_sweep`'s).
        ax, figsize: as in :func:`image_grid` (default 6.4x4.0 in).
        title: the Axes' title.
    """
    if isinstance(sizes, (str, int)) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError("sizes must be a non-empty sequence of integers >= 1, "
                        f"got {describe(sizes)}")
    sizes = [check_positive_int(n, "sizes[]") for n in sizes]
    mse = _check_named(mse, "mse", "one MSE per size")
    for label, values in mse.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (len(sizes),) or not (np.isfinite(v).all() and v.min() > 0):
            raise ValueError(f"mse[{label!r}] must hold {len(sizes)} positive numbers, one per "
                             f"size, got {describe(values)}")
    fig, ax = _figure_and_axes(ax, figsize, _HISTORY)
    for label, values in mse.items():
        ax.plot(sizes, values, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(xlabel="codings", ylabel="test MSE")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend()
    return fig


def plot_codings_2d(
    codings: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int = 10,
    cmap: str | Colormap = "tab10",
    title: str | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Two-dimensional codings drawn as they are (no projection), coloured by label.

    Args:
        codings: ``(N, 2)`` codings, e.g. of a model with ``n_codings=2``.
        labels: ``(N,) int`` classes in ``0 .. n_classes - 1``.
        n_classes, cmap: the colours, one per class, in a discrete colour bar.
        title: the Axes' title.
        ax, figsize: as in :func:`image_grid` (default 5.94x4.86 in).
    """
    codings = _check_codings(codings)
    if codings.shape[1] != 2:
        raise ValueError("codings must have 2 columns (a 2-coding model), "
                         f"got {describe(codings)}; project larger codings with plot_projection")
    labels, n_classes = _check_classes(labels, len(codings), n_classes)
    cmap = matplotlib.colormaps.get_cmap(cmap)
    fig, ax = _figure_and_axes(ax, figsize, _PROJECTION_2D)
    points = ax.scatter(codings[:, 0], codings[:, 1], c=labels, s=3, alpha=0.7, linewidths=0,
                        **_class_colours(cmap, n_classes))
    ax.set(xlabel="coding 1", ylabel="coding 2")
    if title:
        ax.set_title(title)
    fig.colorbar(points, ax=ax, ticks=np.arange(n_classes))
    return fig


def latent_grid(n: int, sigma: float = 1.0) -> np.ndarray:
    """``n`` coding values at the 5% .. 95% quantiles of N(0, sigma), in equal steps of
    probability: each stands for the same share of the prior."""
    normal = statistics.NormalDist(0.0, sigma)
    return np.array([normal.inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=np.float32)


def plot_latent_grid(
    autoencoder: Autoencoder,
    *,
    n: int = 15,
    sigma: float | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """The images a 2-coding model decodes from an ``n x n`` grid of codings.

    Coding 1 grows from left to right, coding 2 from bottom to top; the grid's
    values are :func:`latent_grid`'s quantiles of the prior N(0, sigma), as in
    Kingma and Welling's figure of a 2-D VAE.

    Args:
        autoencoder: a trained :class:`~aelib.Autoencoder` with 2 codings,
            typically a variational one (``variational_autoencoder(kind, n_codings=2)``).
        n: images per side of the grid.
        sigma: the prior's standard deviation; ``None``: the model's
            ``prior_sigma`` (1 for a VAE, 0.33 for the article's autoencoders).
        ax, figsize: as in :func:`image_grid` (the axes are labelled with coding values).
    """
    check_autoencoder(autoencoder)
    if autoencoder.n_codings != 2:
        raise ValueError("autoencoder must have 2 codings (n_codings=2), "
                         f"got {autoencoder.n_codings}")
    n = check_positive_int(n, "n")
    sigma = _sigma_or_prior(autoencoder, sigma)
    check_figsize(figsize, None, ax)
    values = latent_grid(n, sigma)
    coding_1, coding_2 = np.meshgrid(values, values[::-1])  # the top row: the largest coding 2
    images = autoencoder.decode(np.stack([coding_1.ravel(), coding_2.ravel()], axis=1))
    height, width = images.shape[1:3]
    fig, ax = _figure_and_axes(ax, figsize, _grid_figsize(n, n, height, width, extra_width=0.6))
    _show_tile(ax, tile_images(images, n, n))
    ticks = sorted({0, n // 2, n - 1})

    def tick_text(grid_values):
        return [f"{v:.2f}" if abs(v) >= 0.005 else "0" for v in grid_values[ticks]]

    ax.set_xticks([(i + 0.5) * width - 0.5 for i in ticks], tick_text(values))
    ax.set_yticks([(i + 0.5) * height - 0.5 for i in ticks], tick_text(values[::-1]))  # top down
    ax.set(xlabel="coding 1", ylabel="coding 2")
    return fig

"""Architecture diagrams of the article's autoencoders (Figures 1 and 7).

Both drawings are read off the model object itself, never hard-coded, so a
model built with other sizes is drawn with its own sizes:

* :func:`layer_table` lists an autoencoder's layers as plain records
  (name, kind, output shape, units / filters / kernel, activation,
  parameters, encoder or decoder); both drawings are built from it.
* :func:`plot_dense_architecture` (Figure 1) draws a dense autoencoder as
  columns of neurons joined by their connections, 784-250-16-320-784 for the
  article's model.
* :func:`plot_conv_architecture` (Figure 7) draws a convolutional
  autoencoder as a left-to-right row of blocks whose height follows the
  feature maps' size and whose thickness follows their channels.

The functions are pure: they build a :class:`matplotlib.figure.Figure`
directly (no pyplot, no global state) or draw on a given ``ax``, and never
show or save. The default sizes read well saved with ``fig.savefig(path,
dpi=100)``.

Example:
    >>> from aelib import dense_autoencoder
    >>> ae = dense_autoencoder()
    >>> [r["units"] for r in layer_table(ae) if r["kind"] == "Dense"]
    [250, 16, 320, 784]
    >>> fig = plot_dense_architecture(ae)
    >>> fig.savefig("k_auto0.png", dpi=100)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch, Polygon, Rectangle

from . import plots
from .data import describe
from .models import Autoencoder

__all__ = [
    "LayerRecord",
    "layer_table",
    "plot_dense_architecture",
    "plot_conv_architecture",
]


# --------------------------------------------------------------------------
# the layer table
# --------------------------------------------------------------------------
class LayerRecord(TypedDict):
    """One layer of an autoencoder, as plain Python values.

    Keys that do not apply to a layer (``units`` of a ``Conv2D``, ...) are
    ``None``.
    """

    name: str  #: the Keras layer name (unique within its part only)
    kind: str  #: the layer class: "InputLayer", "Dense", "Conv2D", "MaxPooling2D", ...
    part: str  #: "encoder" or "decoder"
    role: str  #: "input", "hidden", "codings" (encoder's output) or "output" (decoder's)
    output_shape: tuple  #: output shape without the batch axis, e.g. (28, 28, 4) or (250,)
    units: int | None  #: Dense width
    filters: int | None  #: Conv2D filters
    kernel_size: tuple[int, ...] | None  #: Conv2D kernel, e.g. (5, 5)
    pool_size: tuple[int, ...] | None  #: MaxPooling2D window, e.g. (2, 2)
    size: tuple[int, ...] | None  #: UpSampling2D factor, e.g. (2, 2)
    activation: str | None  #: activation name ("relu", "tanh", ...) where the layer has one
    params: int  #: number of weights (trainable or not)


def _check_autoencoder(autoencoder) -> Autoencoder:
    if not isinstance(autoencoder, Autoencoder):
        raise TypeError(
            "autoencoder must be an aelib Autoencoder (from dense_autoencoder(), "
            f"conv_autoencoder() or load_autoencoder()), got {describe(autoencoder)}"
        )
    return autoencoder


def _int_tuple(value) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def _activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", type(act).__name__)


def _keras_class(layer) -> str:
    """The Keras layer class ``layer`` is or extends (a subclass shows as its Keras base)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("keras."):
            return cls.__name__
    return type(layer).__name__


def _record(layer, part: str, role: str) -> LayerRecord:
    shape = tuple(None if d is None else int(d) for d in tuple(layer.output.shape)[1:])
    units = getattr(layer, "units", None)
    filters = getattr(layer, "filters", None)
    return LayerRecord(
        name=layer.name,
        kind=_keras_class(layer),
        part=part,
        role=role,
        output_shape=shape,
        units=None if units is None else int(units),
        filters=None if filters is None else int(filters),
        kernel_size=_int_tuple(getattr(layer, "kernel_size", None)),
        pool_size=_int_tuple(getattr(layer, "pool_size", None)),
        size=_int_tuple(getattr(layer, "size", None)),
        activation=_activation_name(layer),
        params=int(layer.count_params()),
    )


def layer_table(autoencoder: Autoencoder) -> list[LayerRecord]:
    """The layers of an autoencoder, in data-flow order, as plain records.

    The encoder's layers come first (its input layer included, ``role
    "input"``), then the decoder's; the decoder's own input layer is left out
    since it only repeats the codings. The encoder's last layer has ``role
    "codings"``, the decoder's last ``role "output"``, all others ``"hidden"``.
    Shapes are read from the built functional models (``layer.output.shape``),
    so any sizes the builders were given show up here.

    Args:
        autoencoder: an :class:`~aelib.models.Autoencoder`, dense or conv.

    Returns:
        A list of :class:`LayerRecord` dicts with keys ``name``, ``kind``,
        ``part``, ``role``, ``output_shape``, ``units``, ``filters``,
        ``kernel_size``, ``pool_size``, ``size``, ``activation`` and
        ``params``. The ``params`` sum to ``autoencoder.model.count_params()``.

    Raises:
        TypeError: if ``autoencoder`` is not an ``Autoencoder``.

    Example:
        >>> from aelib import dense_autoencoder
        >>> table = layer_table(dense_autoencoder())
        >>> [(r["name"], r["output_shape"]) for r in table][:3]
        [('images', (28, 28, 1)), ('flatten', (784,)), ('hidden1', (250,))]
        >>> sum(r["params"] for r in table)
        457370
    """
    ae = _check_autoencoder(autoencoder)
    records: list[LayerRecord] = []
    for part, model in (("encoder", ae.encoder), ("decoder", ae.decoder)):
        layers = list(model.layers)
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            is_input = type(layer).__name__ == "InputLayer"
            if is_input and part == "decoder":
                continue
            if is_input:
                role = "input"
            elif i == last:
                role = "codings" if part == "encoder" else "output"
            else:
                role = "hidden"
            records.append(_record(layer, part, role))
    return records


# --------------------------------------------------------------------------
# shared drawing helpers
# --------------------------------------------------------------------------
_INK = "#2f3640"
_MUTED = "#6b7280"
_FAINT = "#9ca3af"
_LINK = "#aab3c0"
_ENCODER = "#4c78a8"  # muted blue
_DECODER = "#d0804a"  # muted orange
_CODINGS = "#7a5ea8"  # muted purple
_NEUTRAL = "#8d99a6"  # input / output pixels
_FONT = "DejaVu Sans"


def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """Mix ``color`` with white: ``amount`` 0 keeps it, 1 gives white."""
    return tuple(c + (1.0 - c) * amount for c in to_rgb(color))


def _shade(color: str, amount: float) -> tuple[float, float, float]:
    """Mix ``color`` with black: ``amount`` 0 keeps it, 1 gives black."""
    return tuple(c * (1.0 - amount) for c in to_rgb(color))


def _check_figsize(figsize, ax) -> tuple[float, float] | None:
    if figsize is None:
        return None
    if ax is not None:
        raise ValueError("figsize: give figsize or ax, not both (ax already has a figure)")
    return plots.check_figsize(figsize, default=None)


def _check_ax(ax) -> Axes | None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {describe(ax)}")
    return ax


def _canvas(
    ax: Axes | None,
    figsize: tuple[float, float] | None,
    default: tuple[float, float],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
) -> tuple[Figure, Axes]:
    """A fresh figure with one frameless equal-aspect Axes filling it, or ``ax`` set up."""
    if ax is None:
        fig = Figure(figsize=figsize or default)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    else:
        fig = ax.figure
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    return fig, ax


def _text_lines(
    ax: Axes,
    x: float,
    y: float,
    lines: Sequence[tuple[str, dict]],
    *,
    gap: float = 1.3,
    gid: str | None = None,
) -> None:
    """Stack lines of text downward from ``(x, y)``, each with its own style.

    Spacing is in points (``gap`` times each line's font size), so it does not
    depend on the figure's size.
    """
    offset = 0.0
    for text, style in lines:
        size = style.get("fontsize", 10)
        if text:
            ax.annotate(
                text,
                (x, y),
                xytext=(0, -offset),
                textcoords="offset points",
                ha="center",
                va="top",
                color=style.get("color", _INK),
                fontsize=size,
                fontweight=style.get("fontweight", "normal"),
                fontstyle=style.get("fontstyle", "normal"),
                family=_FONT,
                gid=gid,
                annotation_clip=False,
            )
        offset += gap * size


def _part_bands(
    ax: Axes,
    x_left: float,
    x_split: float,
    x_right: float,
    y_bottom: float,
    y_top: float,
    params: dict[str, int],
    fontsize: float,
    rounding: float,
) -> None:
    """Shade the encoder (left of ``x_split``) and decoder halves and title them."""
    for part, lo, hi, color in (
        ("encoder", x_left, x_split, _ENCODER),
        ("decoder", x_split, x_right, _DECODER),
    ):
        ax.add_patch(
            FancyBboxPatch(
                (lo, y_bottom),
                hi - lo,
                y_top - y_bottom,
                boxstyle=f"round,pad=0,rounding_size={rounding}",
                facecolor=_tint(color, 0.9),
                edgecolor="none",
                zorder=0,
                gid=f"{part}-band",
            )
        )
        _text_lines(
            ax,
            (lo + hi) / 2,
            y_top,
            [
                ("", {"fontsize": fontsize * 0.55}),
                (part.upper(), {"fontsize": fontsize, "fontweight": "bold", "color": color}),
                (f"{params[part]:,} parameters", {"fontsize": fontsize * 0.8, "color": _MUTED}),
            ],
            gap=1.25,
            gid=f"{part}-title",
        )


def _shape_text(shape: Sequence) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _params_by_part(table: Sequence[LayerRecord]) -> dict[str, int]:
    parts = ("encoder", "decoder")
    return {part: sum(r["params"] for r in table if r["part"] == part) for part in parts}


# --------------------------------------------------------------------------
# Figure 1: the dense autoencoder as neurons and connections
# --------------------------------------------------------------------------
def _neuron_slots(width: int, widest: int, max_neurons: int) -> int:
    """Circles drawn for a layer of ``width`` neurons: monotone in width.

    The widest layer gets ``max_neurons``; the others scale with the square
    root of their width, never below 3 (or the width itself, if smaller).
    """
    scaled = round(max_neurons * math.sqrt(width / widest))
    return min(width, max(scaled, 3))


def _dense_columns(table: Sequence[LayerRecord]) -> list[dict]:
    """The neuron columns of a dense autoencoder: the input, then each Dense layer."""
    spatial = [
        f"{r['name']} ({r['kind']}, output {_shape_text(r['output_shape'])})"
        for r in table
        if len(r["output_shape"]) != 1 and r["kind"] not in ("InputLayer", "Reshape")
    ]
    dense = [r for r in table if r["kind"] == "Dense"]
    if spatial or not dense:
        what = (
            f"layers with image-shaped outputs: {', '.join(spatial[:3])}"
            if spatial
            else "no Dense layer"
        )
        raise ValueError(
            "autoencoder must be a dense autoencoder (Flatten/Dense/Reshape layers, as "
            f"built by dense_autoencoder()); got one with {what}. "
            "Draw convolutional models with plot_conv_architecture()."
        )
    image = table[0]["output_shape"]
    columns = [
        {
            "width": int(np.prod(image)),
            "role": "input",
            "part": "encoder",
            "activation": None,
            "note": f"from {_shape_text(image)}",
        }
    ]
    for r in dense:
        columns.append(
            {
                "width": r["units"],
                "role": r["role"] if r["role"] == "codings" else "hidden",
                "part": r["part"],
                "activation": r["activation"],
                "note": "",
            }
        )
    columns[-1]["role"] = "output"
    out_shape = table[-1]["output_shape"]
    if len(out_shape) > 1:
        columns[-1]["note"] = f"to {_shape_text(out_shape)}"
    return columns


def _check_max_neurons(max_neurons) -> int:
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, (int, np.integer)):
        raise TypeError(f"max_neurons must be an integer >= 3, got {describe(max_neurons)}")
    if max_neurons < 3:
        raise ValueError(f"max_neurons must be an integer >= 3, got {max_neurons}")
    return int(max_neurons)


def plot_dense_architecture(
    autoencoder: Autoencoder,
    *,
    max_neurons: int = 12,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Figure 1: a dense autoencoder drawn as layers of neurons and their connections.

    One column of circles per layer, left to right: the flattened input
    (H*W*C neurons), each Dense layer of the encoder (the last one is the
    codings) and of the decoder (the last one is the output). Every column
    is labelled with its role, width and activation, e.g. ``"hidden\\n250
    relu"``. The widest layer gets ``max_neurons`` circles and the others
    fewer, growing with the square root of their width (at least 3); where a
    layer has more neurons than circles, a vertical ellipsis "⋮" stands for
    the rest. Consecutive columns are fully connected by thin lines. The
    encoder and decoder halves are shaded (blue, orange) with their parameter
    counts, and the codings column is highlighted.

    Widths are read from the model (``autoencoder.encoder.layers`` and
    ``autoencoder.decoder.layers``), so ``dense_autoencoder(n_codings=8,
    encoder_units=(100,))`` is drawn 784-100-8-320-784.

    Args:
        autoencoder: a dense :class:`~aelib.models.Autoencoder`, e.g. from
            :func:`~aelib.models.dense_autoencoder`.
        max_neurons: circles drawn for the widest layer, an int >= 3.
        figsize: ``(width, height)`` in inches of a new figure; by default one
            that fits the drawing (5.6 x 6.4 for the article's model; wider
            with more layers). Only with ``ax=None``.
        ax: draw on this Axes (its limits and aspect are set, its axis turned
            off) instead of a new figure. Text is sized in points, so give it
            about the default figure's size in inches or labels may crowd.

    Returns:
        The :class:`~matplotlib.figure.Figure` drawn on (``ax.figure`` when
        ``ax`` is given). Neurons are ``Circle`` patches with ``gid
        "neuron"``; the column labels are texts with ``gid "layer-label"``.

    Raises:
        TypeError: ``autoencoder`` is not an ``Autoencoder``; ``max_neurons``
            not an int; ``ax`` not an Axes.
        ValueError: ``autoencoder`` has convolutional (image-shaped) layers;
            bad ``max_neurons`` or ``figsize``.
    """
    ae = _check_autoencoder(autoencoder)
    table = layer_table(ae)
    columns = _dense_columns(table)
    max_neurons = _check_max_neurons(max_neurons)
    ax = _check_ax(ax)
    figsize = _check_figsize(figsize, ax)

    dx, pitch, radius = 2.9, 1.0, 0.33
    widest = max(c["width"] for c in columns)
    for c in columns:
        c["drawn"] = _neuron_slots(c["width"], widest, max_neurons)
        c["omitted"] = c["width"] > c["drawn"]
        c["slots"] = c["drawn"] + (1 if c["omitted"] else 0)
    half = max(c["slots"] for c in columns) * pitch / 2
    n_cols = len(columns)
    i_codings = next(i for i, c in enumerate(columns) if c["role"] == "codings")

    # Layout in data units (one unit = one neuron slot). The default figure
    # has `scale` inches per unit, so a text height in points is `pt` units.
    scale = 0.36
    pt = 1 / 72 / scale
    label_font, title_font = 10.5, 12.0
    y_label = -half - 0.55
    y_bottom = y_label - 3 * 1.3 * label_font * pt - 0.45
    y_top = half + 0.5 + 3 * 1.25 * title_font * pt
    x_left, x_right = -0.7 * dx, (n_cols - 1) * dx + 0.7 * dx
    fig, ax = _canvas(
        ax,
        figsize,
        ((x_right - x_left) * scale, (y_top - y_bottom) * scale),
        (x_left, x_right),
        (y_bottom, y_top),
    )

    # encoder / decoder halves, split at the codings column
    x_split = i_codings * dx
    _part_bands(
        ax,
        x_left + 0.1,
        x_split,
        x_right - 0.1,
        y_bottom + 0.15,
        y_top - 0.15,
        _params_by_part(table),
        fontsize=title_font,
        rounding=0.4,
    )
    pill_half = columns[i_codings]["slots"] * pitch / 2 + 0.35
    ax.add_patch(
        FancyBboxPatch(
            (x_split - 0.62, -pill_half),
            1.24,
            2 * pill_half,
            boxstyle="round,pad=0,rounding_size=0.5",
            facecolor=_tint(_CODINGS, 0.82),
            edgecolor=_tint(_CODINGS, 0.45),
            linewidth=1.0,
            zorder=1,
            gid="codings-highlight",
        )
    )

    # neuron positions: top half, ellipsis gap, bottom half
    positions: list[list[float]] = []
    ellipses: list[float | None] = []
    for c in columns:
        ys = [((c["slots"] - 1) / 2 - j) * pitch for j in range(c["slots"])]
        if c["omitted"]:
            mid = math.ceil(c["drawn"] / 2)
            ellipses.append(ys.pop(mid))
        else:
            ellipses.append(None)
        positions.append(ys)

    # connections between consecutive columns (one light collection per pair)
    for i in range(n_cols - 1):
        x0, x1 = i * dx, (i + 1) * dx
        segments = [((x0, y0), (x1, y1)) for y0 in positions[i] for y1 in positions[i + 1]]
        ax.add_collection(
            LineCollection(
                segments, colors=_LINK, linewidths=0.5, alpha=0.55, zorder=2, gid="connections"
            )
        )

    colors = {"input": _NEUTRAL, "codings": _CODINGS, "output": _NEUTRAL}
    for i, (c, ys) in enumerate(zip(columns, positions)):
        x = i * dx
        color = colors.get(c["role"], _ENCODER if c["part"] == "encoder" else _DECODER)
        for y in ys:
            ax.add_patch(
                Circle(
                    (x, y),
                    radius,
                    facecolor=_tint(color, 0.25),
                    edgecolor=_shade(color, 0.25),
                    linewidth=1.0,
                    zorder=3,
                    gid="neuron",
                )
            )
        if ellipses[i] is not None:
            ax.text(
                x,
                ellipses[i],
                "⋮",
                ha="center",
                va="center",
                fontsize=15,
                color=_MUTED,
                family=_FONT,
                zorder=3,
                gid="ellipsis",
            )
        size = f"{c['width']:,}" + (f" {c['activation']}" if c["activation"] else "")
        ink = _CODINGS if c["role"] == "codings" else _INK
        lines = [
            (c["role"], {"fontsize": label_font, "fontweight": "bold", "color": ink}),
            (size, {"fontsize": label_font, "color": ink}),
            (c["note"], {"fontsize": label_font * 0.85, "color": _MUTED}),
        ]
        _text_lines(ax, x, y_label, lines, gid="layer-label")
    return fig


# --------------------------------------------------------------------------
# Figure 7: the convolutional autoencoder as a row of blocks
# --------------------------------------------------------------------------
_SHORT_KIND = {
    "InputLayer": "Input",
    "Conv2D": "Conv",
    "MaxPooling2D": "MaxPool",
    "UpSampling2D": "UpSample",
    "Conv2DTranspose": "ConvT",
    "AveragePooling2D": "AvgPool",
}


def _pair(t: tuple[int, ...] | None) -> str:
    if not t:
        return ""
    return "×".join(str(v) for v in (t * 2 if len(t) == 1 else t))


def _block_text(r: LayerRecord) -> tuple[str, str, str]:
    """Three label lines of a block: kind, spec (filters@kernel, units, window), activation."""
    kind = _SHORT_KIND.get(r["kind"], r["kind"])
    if r["role"] == "codings":
        kind = "Codings"
    elif r["role"] == "output":
        kind = f"Output {kind.lower()}" if r["kind"] != "Reshape" else "Output"
    if r["filters"] is not None and r["kernel_size"] is not None:
        spec = f"{r['filters']}@{_pair(r['kernel_size'])}"
    elif r["units"] is not None:
        spec = f"{r['units']}"
    elif r["pool_size"] is not None:
        spec = _pair(r["pool_size"])
    elif r["size"] is not None:
        spec = _pair(r["size"])
    else:
        spec = ""
    act = r["activation"] or ""
    return kind, spec, "" if act == "linear" else act


def plot_conv_architecture(
    autoencoder: Autoencoder,
    *,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Figure 7: a convolutional autoencoder as a left-to-right row of blocks.

    One block per layer of :func:`layer_table` (input, Conv2D, MaxPooling2D,
    Flatten, Dense, Reshape, UpSampling2D, output Conv2D). Feature maps
    ``(H, W, C)`` are boxes drawn in perspective: height follows H, depth
    follows W and thickness grows with log2(C), so the maps visibly shrink
    through the encoder and grow back through the decoder. Vectors (Flatten,
    Dense) are flat bars whose height grows with the square root of their
    width. Above each block is its output shape (``"28×28×4"``); below it
    the layer kind, its spec (``"4@5×5"`` for filters@kernel, units for Dense,
    the window for pooling/upsampling) and its activation. The encoder and
    decoder are shaded (blue, orange) with their parameter counts and the
    codings block is highlighted.

    Shapes come from the built model (``layer.output.shape``), so e.g.
    ``conv_autoencoder(input_shape=(32, 32, 3))`` is drawn from 32×32×3.

    Args:
        autoencoder: a convolutional :class:`~aelib.models.Autoencoder`
            (with Conv2D layers), e.g. from :func:`~aelib.models.conv_autoencoder`.
        figsize: ``(width, height)`` in inches of a new figure; by default one
            that fits the drawing (14.3 x 3.9 for the article's model:
            0.82 inch per block). Only with ``ax=None``.
        ax: draw on this Axes (its limits and aspect are set, its axis turned
            off) instead of a new figure. Text is sized in points, so give it
            about the default figure's size in inches or labels may crowd.

    Returns:
        The :class:`~matplotlib.figure.Figure` drawn on (``ax.figure`` when
        ``ax`` is given). Each block's front face is a patch with ``gid
        "block"``; shapes are texts with ``gid "shape-label"`` and the lines
        below blocks ``gid "layer-label"``.

    Raises:
        TypeError: ``autoencoder`` is not an ``Autoencoder``; ``ax`` not an Axes.
        ValueError: ``autoencoder`` has no Conv2D layer (a dense model; draw it
            with :func:`plot_dense_architecture`); bad ``figsize``.
    """
    ae = _check_autoencoder(autoencoder)
    table = layer_table(ae)
    if not any(r["kind"] in ("Conv2D", "Conv2DTranspose") for r in table):
        raise ValueError(
            "autoencoder must be a convolutional autoencoder (with Conv2D layers, as built "
            f"by conv_autoencoder()); got one with layers "
            f"{', '.join(sorted({r['kind'] for r in table}))} and no Conv2D. "
            "Draw dense models with plot_dense_architecture()."
        )
    ax = _check_ax(ax)
    figsize = _check_figsize(figsize, ax)

    # geometry in data units: one slot per block
    slot = 1.0
    map_height, vec_height = 2.3, 2.3
    maps = [r["output_shape"] for r in table if len(r["output_shape"]) == 3]
    vecs = [r["output_shape"][0] for r in table if len(r["output_shape"]) == 1]
    h_max = max((s[0] or 1) for s in maps) if maps else 1
    w_max = max((s[1] or 1) for s in maps) if maps else 1
    c_log = max([4.0] + [math.log2(max(s[2] or 1, 1)) for s in maps])
    v_max = max(vecs) if vecs else 1

    blocks = []
    for r in table:
        s = r["output_shape"]
        if len(s) == 3:
            h = max(map_height * (s[0] or 1) / h_max, 0.22)
            t = 0.1 + 0.4 * math.log2(max(s[2] or 1, 1)) / c_log
            depth = (s[1] or 1) / w_max
            ox, oy = 0.3 * depth, 0.24 * depth
        else:
            width = math.prod(d or 1 for d in s)
            h = max(vec_height * math.sqrt(width / v_max), 0.14)
            t, ox, oy = 0.13, 0.0, 0.0
        blocks.append({"h": h, "t": t, "ox": ox, "oy": oy})

    n = len(blocks)
    scale = 0.82  # inches per unit in the default figure
    top = max(b["h"] / 2 + b["oy"] / 2 for b in blocks)
    label_font, shape_font = 9.0, 8.5
    below = 3 * 1.3 * label_font / 72 / scale + 0.25
    y_shape = top + 0.12
    header = 2.6 * 12 / 72 / scale + 0.3
    y_top = y_shape + 1.3 * shape_font / 72 / scale + header
    y_bottom = -top - below - 0.2
    x_left, x_right = -0.72 * slot, (n - 1) * slot + 0.72 * slot
    fig, ax = _canvas(
        ax,
        figsize,
        ((x_right - x_left) * scale, (y_top - y_bottom) * scale),
        (x_left, x_right),
        (y_bottom, y_top),
    )

    i_codings = next(i for i, r in enumerate(table) if r["role"] == "codings")
    x_split = i_codings * slot
    _part_bands(
        ax,
        x_left + 0.05,
        x_split,
        x_right - 0.05,
        y_bottom + 0.05,
        y_top - 0.05,
        _params_by_part(table),
        fontsize=12,
        rounding=0.12,
    )
    cb = blocks[i_codings]
    ax.add_patch(
        FancyBboxPatch(
            (x_split - 0.36, -cb["h"] / 2 - 0.22),
            0.72,
            cb["h"] + 0.44,
            boxstyle="round,pad=0,rounding_size=0.2",
            facecolor=_tint(_CODINGS, 0.82),
            edgecolor=_tint(_CODINGS, 0.45),
            linewidth=1.0,
            zorder=1,
            gid="codings-highlight",
        )
    )

    edges = []  # (left, right) x extent of each block, for the arrows
    for i, (r, b) in enumerate(zip(table, blocks)):
        if r["role"] == "codings":
            color = _CODINGS
        elif r["role"] == "input":
            color = _NEUTRAL
        else:
            color = _ENCODER if r["part"] == "encoder" else _DECODER
        # layers without weights (pooling, upsampling, reshaping) are drawn paler
        light = 0.55 if r["params"] == 0 and r["role"] != "input" else 0.2
        edge = _shade(color, 0.3)
        cx = i * slot
        w, h, ox, oy = b["t"], b["h"], b["ox"], b["oy"]
        x0, y0 = cx - (w + ox) / 2, -(h + oy) / 2
        if ox > 0:  # the top and side faces of a feature-map box
            x1, y1 = x0 + w, y0 + h
            top_face = [(x0, y1), (x1, y1), (x1 + ox, y1 + oy), (x0 + ox, y1 + oy)]
            side_face = [(x1, y0), (x1 + ox, y0 + oy), (x1 + ox, y1 + oy), (x1, y1)]
            for poly, lighter in ((top_face, 0.45), (side_face, 0.25)):
                face = _tint(color, light + (1 - light) * lighter)
                ax.add_patch(
                    Polygon(poly, facecolor=face, edgecolor=edge, linewidth=0.7, zorder=3)
                )
        front = Rectangle((x0, y0), w, h, facecolor=_tint(color, light), edgecolor=edge)
        front.set(linewidth=0.7, zorder=4, gid="block")
        ax.add_patch(front)
        edges.append((x0, x0 + w + ox))
        ink = _CODINGS if r["role"] == "codings" else _INK
        ax.text(
            cx,
            y_shape,
            _shape_text(r["output_shape"]),
            ha="center",
            va="bottom",
            fontsize=shape_font,
            color=ink,
            family=_FONT,
            gid="shape-label",
        )
        kind, spec, act = _block_text(r)
        _text_lines(
            ax,
            cx,
            -top - 0.18,
            [
                (kind, {"fontsize": label_font, "fontweight": "bold", "color": ink}),
                (spec, {"fontsize": label_font, "color": ink}),
                (act, {"fontsize": label_font * 0.95, "color": _MUTED, "fontstyle": "italic"}),
            ],
            gid="layer-label",
        )

    for (_, right), (left, _) in zip(edges[:-1], edges[1:]):
        if left - right > 0.12:
            ax.annotate(
                "",
                xy=(left - 0.03, 0),
                xytext=(right + 0.03, 0),
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": _FAINT,
                    "lw": 0.8,
                    "shrinkA": 0,
                    "shrinkB": 0,
                    "mutation_scale": 7,
                },
                zorder=2,
            )
    return fig

"""Architecture diagrams of the article's autoencoders (Figures 1 and 7).

Both are read off the model through :func:`layer_table`, so a model built with
other sizes is drawn with its own. Each is a layout step (positions from the layer
table, sizes as named constants) and a drawing step. Like :mod:`aelib.plots`, they
build a ``Figure`` (or draw on ``ax=``) for the caller to show or save (at ``dpi=100``).

Example:
    >>> from aelib import dense_autoencoder
    >>> ae = dense_autoencoder()
    >>> [r["units"] for r in layer_table(ae) if r["layer_type"] == "Dense"]
    [250, 16, 320, 784]
    >>> fig = plot_dense_architecture(ae)
    >>> fig.savefig("k_auto0.png", dpi=100)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypedDict

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch, Polygon, Rectangle

from . import plots
from .data import describe
from .models import Autoencoder, check_autoencoder

__all__ = ["LayerRecord", "layer_table", "plot_conv_architecture", "plot_dense_architecture"]


# --- the layer table ---
class LayerRecord(TypedDict):
    """One layer of an autoencoder, as plain Python values; keys that do not apply are None."""

    name: str  #: the Keras layer name (unique within its part only)
    layer_type: str  #: the layer class: "InputLayer", "Dense", "Conv2D", "MaxPooling2D", ...
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
        layer_type=_keras_class(layer),
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

    The encoder's layers (its input layer with role "input"), then the decoder's
    except its input layer, which repeats the codings. The encoder's last layer has
    role "codings", the decoder's last "output", the others "hidden". Shapes are
    read from the built model.

    Args:
        autoencoder: an :class:`~aelib.models.Autoencoder`, dense or conv.

    Returns:
        A list of :class:`LayerRecord` dicts; their ``params`` sum to
        ``autoencoder.model.count_params()``.

    Example:
        >>> from aelib import dense_autoencoder
        >>> table = layer_table(dense_autoencoder())
        >>> [(r["name"], r["output_shape"]) for r in table][:3]
        [('images', (28, 28, 1)), ('flatten', (784,)), ('hidden1', (250,))]
        >>> sum(r["params"] for r in table)
        457370
    """
    check_autoencoder(autoencoder)
    records: list[LayerRecord] = []
    for part, model in (("encoder", autoencoder.encoder), ("decoder", autoencoder.decoder)):
        last = "codings" if part == "encoder" else "output"
        for i, layer in enumerate(model.layers):
            if type(layer).__name__ != "InputLayer":
                role = last if i == len(model.layers) - 1 else "hidden"
                records.append(_record(layer, part, role))
            elif part == "encoder":
                records.append(_record(layer, part, "input"))
    return records


# --- shared sizes, styles and helpers ---
_INK = "#2f3640"
_MUTED = "#6b7280"
_FAINT = "#9ca3af"
_LINK = "#aab3c0"
_ENCODER = "#4c78a8"  # muted blue
_DECODER = "#d0804a"  # muted orange
_CODINGS = "#7a5ea8"  # muted purple
_NEUTRAL = "#8d99a6"  # input / output pixels
_FONT = "DejaVu Sans"

_POINTS_PER_INCH = 72
_LINE_GAP = 1.3  # spacing of stacked label lines, in font sizes
_TITLE_PT = 12  # the ENCODER / DECODER titles
_TITLE_GAP = 1.25  # spacing of the title lines, in font sizes
_TITLE_SCALES = (0.55, 1.0, 0.8)  # font sizes of a title's blank line, name and parameters
_BAND_TINT = 0.9  # the bands' colour mixed this much with white
_PILL_TINT = (0.82, 0.45)  # the codings highlight's face and edge mixed with white


@dataclass(frozen=True)
class _Frame:
    """What both diagrams draw around their layers, in data units."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    inch_per_unit: float  # scale of the default figure
    band_inset: tuple[float, float]  # the bands' (x, y) distance from the limits
    x_split: float  # where the encoder band ends and the decoder band starts
    pill: tuple[float, float, float, float]  # codings highlight: x, y, width, height
    rounding: tuple[float, float]  # corner radius of the bands and of the highlight
    label_y: float  # top of the labels under the layers
    params: dict[str, int]  # parameters of the encoder and of the decoder


def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """Mix ``color`` with white: ``amount`` 0 keeps it, 1 gives white."""
    return tuple(c + (1.0 - c) * amount for c in to_rgb(color))


def _shade(color: str, amount: float) -> tuple[float, float, float]:
    """Mix ``color`` with black: ``amount`` 0 keeps it, 1 gives black."""
    return tuple(c * (1.0 - amount) for c in to_rgb(color))


def _color(role: str, part: str, neutral: Sequence[str]) -> str:
    """A layer's colour: purple for the codings, grey for ``neutral`` roles, else its part's."""
    if role == "codings":
        return _CODINGS
    if role in neutral:
        return _NEUTRAL
    return _ENCODER if part == "encoder" else _DECODER


def _ink(role: str) -> str:
    return _CODINGS if role == "codings" else _INK


def _shape_text(shape: Sequence) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


def _params_by_part(table: Sequence[LayerRecord]) -> dict[str, int]:
    return {part: sum(r["params"] for r in table if r["part"] == part)
            for part in ("encoder", "decoder")}


def _text_lines(ax: Axes, x: float, y: float, lines, *, gap=_LINE_GAP, gid=None) -> None:
    """Stack ``(text, style)`` lines downward from ``(x, y)``, ``gap`` times each style's
    ``fontsize`` apart in points: the spacing does not depend on the figure's size."""
    offset = 0.0
    for text, style in lines:
        if text:
            kwargs = {"color": _INK, "fontweight": "normal", "fontstyle": "normal", **style}
            ax.annotate(text, (x, y), xytext=(0, -offset), textcoords="offset points",
                        ha="center", va="top", family=_FONT, gid=gid, annotation_clip=False,
                        **kwargs)
        offset += gap * style["fontsize"]


def _layer_label(ax: Axes, x: float, y: float, lines, role: str, fontsize: float,
                 note_scale: float, note_style: str = "normal") -> None:
    """The three lines under a layer: its name in bold, its spec and a muted note."""
    name, spec, note = lines
    _text_lines(ax, x, y, [
        (name, {"fontsize": fontsize, "fontweight": "bold", "color": _ink(role)}),
        (spec, {"fontsize": fontsize, "color": _ink(role)}),
        (note, {"fontsize": fontsize * note_scale, "color": _MUTED, "fontstyle": note_style}),
    ], gid="layer-label")


def _draw_frame(frame: _Frame, figsize, ax) -> tuple[Figure, Axes]:
    """The figure (or ``ax``) set up, the encoder / decoder bands and the codings highlight."""
    (x0, x1), (y0, y1), (dx, dy) = frame.xlim, frame.ylim, frame.band_inset
    if ax is None:
        fig = Figure(figsize=figsize or ((x1 - x0) * frame.inch_per_unit,
                                         (y1 - y0) * frame.inch_per_unit))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    else:
        fig = ax.figure
    ax.set(xlim=frame.xlim, ylim=frame.ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    band_round, pill_round = frame.rounding
    bottom, top = y0 + dy, y1 - dy
    for part, left, right, color in (("encoder", x0 + dx, frame.x_split, _ENCODER),
                                     ("decoder", frame.x_split, x1 - dx, _DECODER)):
        ax.add_patch(FancyBboxPatch(
            (left, bottom), right - left, top - bottom,
            boxstyle=f"round,pad=0,rounding_size={band_round}",
            facecolor=_tint(color, _BAND_TINT), edgecolor="none", zorder=0, gid=f"{part}-band",
        ))
        blank, name, count = (_TITLE_PT * s for s in _TITLE_SCALES)
        title = [
            ("", {"fontsize": blank}),
            (part.upper(), {"fontsize": name, "fontweight": "bold", "color": color}),
            (f"{frame.params[part]:,} parameters", {"fontsize": count, "color": _MUTED}),
        ]
        _text_lines(ax, (left + right) / 2, top, title, gap=_TITLE_GAP, gid=f"{part}-title")
    x, y, width, height = frame.pill
    ax.add_patch(FancyBboxPatch(
        (x, y), width, height, boxstyle=f"round,pad=0,rounding_size={pill_round}",
        facecolor=_tint(_CODINGS, _PILL_TINT[0]), edgecolor=_tint(_CODINGS, _PILL_TINT[1]),
        linewidth=1.0, zorder=1, gid="codings-highlight",
    ))
    return fig, ax


# --- Figure 1: the dense autoencoder as neurons and connections ---
# sizes in data units (one unit is the pitch of the neuron circles) unless in points
_DENSE_INCH_PER_UNIT = 0.36  # scale of the default figure
_DENSE_STEP = 2.9  # between neuron columns
_DENSE_SIDE = 0.7  # margin beyond the first and last column, in steps
_DENSE_RADIUS = 0.33  # of a neuron
_DENSE_MIN_NEURONS = 3  # circles of a narrow layer (fewer only if it is narrower)
_DENSE_LABEL_PT = 10.5  # column labels
_DENSE_NOTE_SCALE = 0.85  # font of the labels' third line ("from 28×28×1")
_DENSE_ELLIPSIS_PT = 15
_DENSE_LABEL_DROP = 0.55  # from the lowest slot down to the labels
_DENSE_BOTTOM = 0.45  # margin below the labels
_DENSE_TOP = 0.5  # from the highest slot up to the titles
_DENSE_BAND_INSET = (0.1, 0.15)
_DENSE_PILL_HALF_WIDTH = 0.62  # of the codings highlight
_DENSE_PILL_PAD = 0.35  # the highlight's reach above and below the codings' slots
_DENSE_ROUNDING = (0.4, 0.5)  # of the bands, of the highlight
_NEURON_TINT = 0.25  # a neuron's face mixed this much with white, its edge with black
_LINK_STYLE = {"colors": _LINK, "linewidths": 0.5, "alpha": 0.55, "zorder": 2}


def _neuron_slots(width: int, widest: int, max_neurons: int) -> int:
    """Circles drawn for a layer of ``width`` neurons: ``max_neurons`` for the widest,
    else scaled by the square root of the width, at least 3 (or the width, if smaller)."""
    scaled = round(max_neurons * math.sqrt(width / widest))
    return min(width, max(scaled, _DENSE_MIN_NEURONS))


def _dense_columns(table: Sequence[LayerRecord]) -> list[dict]:
    """The neuron columns of a dense autoencoder (the input, then each Dense layer)."""
    spatial = [
        f"{r['name']} ({r['layer_type']}, output {_shape_text(r['output_shape'])})"
        for r in table
        if len(r["output_shape"]) != 1 and r["layer_type"] not in ("InputLayer", "Reshape")
    ]
    dense = [r for r in table if r["layer_type"] == "Dense"]
    if spatial or not dense:
        what = ("layers with image-shaped outputs: " + ", ".join(spatial[:3])
                if spatial else "no Dense layer")
        raise ValueError(
            "autoencoder must be a dense autoencoder (Flatten/Dense/Reshape layers, as "
            f"built by dense_autoencoder()); got one with {what}. "
            "Draw convolutional models with plot_conv_architecture()."
        )
    image, out_shape = table[0]["output_shape"], table[-1]["output_shape"]
    columns = [{"width": math.prod(image), "role": "input", "part": "encoder",
                "activation": None, "note": f"from {_shape_text(image)}"}]
    columns += [{"width": r["units"], "role": "codings" if r["role"] == "codings" else "hidden",
                 "part": r["part"], "activation": r["activation"], "note": ""} for r in dense]
    columns[-1]["role"] = "output"
    columns[-1]["note"] = f"to {_shape_text(out_shape)}" if len(out_shape) > 1 else ""
    return columns


def _dense_layout(table: Sequence[LayerRecord], max_neurons: int) -> tuple[_Frame, list[dict]]:
    """Figure 1's frame and columns. Each column has its ``x``, ``labels``, neuron
    ``ys``, ``ellipsis`` (the y of the "⋮" standing for omitted neurons, or None)
    and, but for the last, ``links``: segments to every neuron of the next column."""
    columns = _dense_columns(table)
    widest = max(c["width"] for c in columns)
    for i, c in enumerate(columns):
        drawn = _neuron_slots(c["width"], widest, max_neurons)
        slots = drawn + 1 if c["width"] > drawn else drawn  # one slot for the ellipsis
        ys = [(slots - 1) / 2 - j for j in range(slots)]
        c["ellipsis"] = ys.pop(math.ceil(drawn / 2)) if slots > drawn else None
        size = f"{c['width']:,}" + (f" {c['activation']}" if c["activation"] else "")
        c.update(x=i * _DENSE_STEP, ys=ys, slots=slots, labels=(c["role"], size, c["note"]))
    for a, b in pairwise(columns):
        a["links"] = [((a["x"], y0), (b["x"], y1)) for y0 in a["ys"] for y1 in b["ys"]]
    codings = next(c for c in columns if c["role"] == "codings")
    half = max(c["slots"] for c in columns) / 2
    pt = 1 / _POINTS_PER_INCH / _DENSE_INCH_PER_UNIT  # a point in data units
    label_y = -half - _DENSE_LABEL_DROP
    y_bottom = label_y - 3 * _LINE_GAP * _DENSE_LABEL_PT * pt - _DENSE_BOTTOM
    y_top = half + _DENSE_TOP + 3 * _TITLE_GAP * _TITLE_PT * pt
    side = _DENSE_SIDE * _DENSE_STEP
    pill_half = codings["slots"] / 2 + _DENSE_PILL_PAD
    pill_x = codings["x"] - _DENSE_PILL_HALF_WIDTH
    frame = _Frame(
        xlim=(-side, columns[-1]["x"] + side),
        ylim=(y_bottom, y_top),
        inch_per_unit=_DENSE_INCH_PER_UNIT,
        band_inset=_DENSE_BAND_INSET,
        x_split=codings["x"],
        pill=(pill_x, -pill_half, 2 * _DENSE_PILL_HALF_WIDTH, 2 * pill_half),
        rounding=_DENSE_ROUNDING,
        label_y=label_y,
        params=_params_by_part(table),
    )
    return frame, columns


def _draw_dense(ax: Axes, columns: list[dict], label_y: float) -> None:
    """The laid-out columns' connections, neurons, ellipses and labels."""
    for c in columns[:-1]:
        ax.add_collection(LineCollection(c["links"], gid="connections", **_LINK_STYLE))
    for c in columns:
        color = _color(c["role"], c["part"], neutral=("input", "output"))
        for y in c["ys"]:
            ax.add_patch(Circle(
                (c["x"], y), _DENSE_RADIUS, facecolor=_tint(color, _NEURON_TINT),
                edgecolor=_shade(color, _NEURON_TINT), linewidth=1.0, zorder=3, gid="neuron",
            ))
        if c["ellipsis"] is not None:
            ax.text(c["x"], c["ellipsis"], "⋮", ha="center", va="center", color=_MUTED,
                    fontsize=_DENSE_ELLIPSIS_PT, family=_FONT, zorder=3, gid="ellipsis")
        _layer_label(ax, c["x"], label_y, c["labels"], c["role"], _DENSE_LABEL_PT,
                     _DENSE_NOTE_SCALE)


def _check_max_neurons(max_neurons) -> int:
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, (int, np.integer)):
        raise TypeError(f"max_neurons must be an integer >= 3, got {describe(max_neurons)}")
    if max_neurons < _DENSE_MIN_NEURONS:
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

    One column of circles per layer, left to right: the flattened input, then
    each Dense layer of the encoder (the last is the codings) and of the decoder
    (the last is the output), labelled with role, width and activation
    (``"hidden 250 relu"``). The widest layer gets ``max_neurons`` circles, the
    others fewer (by the square root of their width, at least 3); a "⋮" stands
    for the neurons not drawn. Consecutive columns are fully connected. The
    encoder and decoder are shaded (blue, orange) with their parameter counts,
    the codings column highlighted. Widths come from the model:
    ``dense_autoencoder(n_codings=8, encoder_units=(100,))`` is drawn 784-100-8-320-784.

    Args:
        autoencoder: a dense :class:`~aelib.models.Autoencoder`.
        max_neurons: circles drawn for the widest layer, an int >= 3.
        figsize: of a new figure, in inches; by default one that fits the
            drawing (5.6 x 6.4 for the article's model).
        ax: draw on this Axes instead (its limits and aspect are set, its axis
            turned off); text is sized in points, so give it about the default size.

    Returns:
        The figure (``ax.figure`` when ``ax`` is given). Neurons are ``Circle``
        patches with gid "neuron", the column labels texts with gid "layer-label".

    Raises:
        ValueError: ``autoencoder`` has convolutional (image-shaped) layers.
    """
    table = layer_table(autoencoder)
    figsize = plots.check_figsize(figsize, None, ax)
    frame, columns = _dense_layout(table, _check_max_neurons(max_neurons))
    fig, ax = _draw_frame(frame, figsize, ax)
    _draw_dense(ax, columns, frame.label_y)
    return fig


# --- Figure 7: the convolutional autoencoder as a row of blocks ---
# sizes in data units (one unit is the step between blocks) unless in points
_CONV_INCH_PER_UNIT = 0.82  # scale of the default figure
_CONV_SIDE = 0.72  # margin beyond the first and last block
_CONV_MAX_HEIGHT = 2.3  # of the tallest feature map and of the widest vector
_CONV_MIN_HEIGHT = (0.22, 0.14)  # of a feature map, of a vector
_CONV_THICKNESS = (0.1, 0.4)  # a map's front width: first + second x log2(C) / c_log
_CONV_MIN_LOG_CHANNELS = 4.0  # c_log: log2 of the most channels, at least this
_CONV_VECTOR_THICKNESS = 0.13
_CONV_DEPTH = (0.3, 0.24)  # (x, y) offset of the widest map's back face
_CONV_LABEL_PT = 9.0  # labels under the blocks
_CONV_NOTE_SCALE = 0.95  # font of the labels' third line (the activation)
_CONV_SHAPE_PT = 8.5  # shapes above the blocks
_CONV_SHAPE_LIFT = 0.12  # from the tallest block up to the shapes
_CONV_LABEL_DROP = 0.18  # from the tallest block down to the labels
_CONV_HEADER = (2.6, 0.3)  # room for the titles above the shapes: title font sizes, margin
_CONV_BOTTOM = 0.45  # margin below the labels
_CONV_BAND_INSET = (0.05, 0.05)
_CONV_PILL_HALF_WIDTH = 0.36  # of the codings highlight
_CONV_PILL_PAD = 0.22  # the highlight's reach above and below the codings block
_CONV_ROUNDING = (0.12, 0.2)  # of the bands, of the highlight
_CONV_ARROW_GAP = 0.03  # between an arrow's ends and the blocks
_CONV_MIN_ARROW = 0.12  # blocks closer than this get no arrow
_BLOCK_LIGHT = (0.2, 0.55)  # front mixed with white: layers with weights, without
_BLOCK_FACE_TINT = (0.45, 0.25)  # top and side faces: this much lighter than the front
_BLOCK_EDGE_SHADE = 0.3
_BLOCK_LINEWIDTH = 0.7
_ARROW_PROPS = {"arrowstyle": "-|>", "color": _FAINT, "lw": 0.8, "shrinkA": 0, "shrinkB": 0,
                "mutation_scale": 7}
_SHORT_TYPE = {"InputLayer": "Input", "Conv2D": "Conv", "MaxPooling2D": "MaxPool",
               "UpSampling2D": "UpSample", "Conv2DTranspose": "ConvT",
               "AveragePooling2D": "AvgPool"}


def _pair(t: tuple[int, ...] | None) -> str:
    return "×".join(str(v) for v in (t * 2 if len(t) == 1 else t)) if t else ""


def _block_text(r: LayerRecord) -> tuple[str, str, str]:
    """A block's label lines: layer type, spec (filters@kernel, units or window), activation."""
    layer_type = _SHORT_TYPE.get(r["layer_type"], r["layer_type"])
    if r["role"] == "codings":
        layer_type = "Codings"
    elif r["role"] == "output":
        layer_type = f"Output {layer_type.lower()}" if r["layer_type"] != "Reshape" else "Output"
    if r["filters"] is not None and r["kernel_size"] is not None:
        spec = f"{r['filters']}@{_pair(r['kernel_size'])}"
    elif r["units"] is not None:
        spec = f"{r['units']}"
    else:
        spec = _pair(r["pool_size"] or r["size"])
    act = r["activation"]
    return layer_type, spec, act if act and act != "linear" else ""


def _block_geometry(i: int, shape: tuple, maxima: tuple[float, float, float, float]) -> dict:
    """Block ``i``'s front face ``x0, y0, w, h``, depth offsets ``ox, oy`` and ``faces``:
    for a feature map, its top and side faces seen in perspective.

    ``maxima`` are the largest map height and width, c_log and the largest vector.
    """
    h_max, w_max, c_log, v_max = maxima
    if len(shape) == 3:
        h = max(_CONV_MAX_HEIGHT * (shape[0] or 1) / h_max, _CONV_MIN_HEIGHT[0])
        w = _CONV_THICKNESS[0] + _CONV_THICKNESS[1] * math.log2(shape[2] or 1) / c_log
        depth = (shape[1] or 1) / w_max
        ox, oy = _CONV_DEPTH[0] * depth, _CONV_DEPTH[1] * depth
    else:
        width = math.prod(d or 1 for d in shape)
        h = max(_CONV_MAX_HEIGHT * math.sqrt(width / v_max), _CONV_MIN_HEIGHT[1])
        w, ox, oy = _CONV_VECTOR_THICKNESS, 0.0, 0.0
    x0, y0 = i - (w + ox) / 2, -(h + oy) / 2
    x1, y1 = x0 + w, y0 + h
    faces = []
    if ox > 0:
        faces = [[(x0, y1), (x1, y1), (x1 + ox, y1 + oy), (x0 + ox, y1 + oy)],
                 [(x1, y0), (x1 + ox, y0 + oy), (x1 + ox, y1 + oy), (x1, y1)]]
    return {"x0": x0, "y0": y0, "w": w, "h": h, "ox": ox, "oy": oy, "faces": faces}


def _conv_layout(table: Sequence[LayerRecord]) -> tuple[_Frame, list[dict], float]:
    """Figure 7's frame, blocks and the y of the shape labels. Each block has its
    layer's ``record``, ``x``, ``labels``, the :func:`_block_geometry` and
    ``arrow``: the x of the start and end of the arrow to the next block, or None."""
    maps = [r["output_shape"] for r in table if len(r["output_shape"]) == 3]
    maxima = (
        max(s[0] or 1 for s in maps),
        max(s[1] or 1 for s in maps),
        max([_CONV_MIN_LOG_CHANNELS] + [math.log2(s[2] or 1) for s in maps]),
        max((r["output_shape"][0] for r in table if len(r["output_shape"]) == 1), default=1),
    )
    blocks = [{"record": r, "x": i, "labels": _block_text(r), "arrow": None,
               **_block_geometry(i, r["output_shape"], maxima)} for i, r in enumerate(table)]
    for a, b in pairwise(blocks):
        right, left = a["x0"] + a["w"] + a["ox"], b["x0"]
        if left - right > _CONV_MIN_ARROW:
            a["arrow"] = (right + _CONV_ARROW_GAP, left - _CONV_ARROW_GAP)
    top = max(b["h"] / 2 + b["oy"] / 2 for b in blocks)
    scale = _CONV_INCH_PER_UNIT
    below = 3 * _LINE_GAP * _CONV_LABEL_PT / _POINTS_PER_INCH / scale + _CONV_BOTTOM
    shape_y = top + _CONV_SHAPE_LIFT
    header = _CONV_HEADER[0] * _TITLE_PT / _POINTS_PER_INCH / scale + _CONV_HEADER[1]
    y_top = shape_y + _LINE_GAP * _CONV_SHAPE_PT / _POINTS_PER_INCH / scale + header
    codings = next(b for b in blocks if b["record"]["role"] == "codings")
    pill_x = codings["x"] - _CONV_PILL_HALF_WIDTH
    pill_y = -codings["h"] / 2 - _CONV_PILL_PAD
    frame = _Frame(
        xlim=(-_CONV_SIDE, len(blocks) - 1 + _CONV_SIDE),
        ylim=(-top - below, y_top),
        inch_per_unit=scale,
        band_inset=_CONV_BAND_INSET,
        x_split=codings["x"],
        pill=(pill_x, pill_y, 2 * _CONV_PILL_HALF_WIDTH, codings["h"] + 2 * _CONV_PILL_PAD),
        rounding=_CONV_ROUNDING,
        label_y=-top - _CONV_LABEL_DROP,
        params=_params_by_part(table),
    )
    return frame, blocks, shape_y


def _draw_block(ax: Axes, b: dict) -> None:
    """A block's front face and, for a feature map, its top and side faces."""
    r = b["record"]
    color = _color(r["role"], r["part"], neutral=("input",))
    # layers without weights (pooling, upsampling, reshaping) are drawn paler
    light = _BLOCK_LIGHT[1] if r["params"] == 0 and r["role"] != "input" else _BLOCK_LIGHT[0]
    style = {"edgecolor": _shade(color, _BLOCK_EDGE_SHADE), "linewidth": _BLOCK_LINEWIDTH}
    for face, lighter in zip(b["faces"], _BLOCK_FACE_TINT):
        tint = _tint(color, light + (1 - light) * lighter)
        ax.add_patch(Polygon(face, facecolor=tint, zorder=3, **style))
    front = Rectangle((b["x0"], b["y0"]), b["w"], b["h"], facecolor=_tint(color, light), **style)
    front.set(zorder=4, gid="block")
    ax.add_patch(front)


def _draw_conv(ax: Axes, blocks: list[dict], label_y: float, shape_y: float) -> None:
    """The laid-out blocks, their shape and layer labels, and the arrows between them."""
    for b in blocks:
        r = b["record"]
        _draw_block(ax, b)
        ax.text(b["x"], shape_y, _shape_text(r["output_shape"]), ha="center", va="bottom",
                fontsize=_CONV_SHAPE_PT, color=_ink(r["role"]), family=_FONT, gid="shape-label")
        _layer_label(ax, b["x"], label_y, b["labels"], r["role"], _CONV_LABEL_PT,
                     _CONV_NOTE_SCALE, note_style="italic")
    for b in blocks:
        if b["arrow"] is not None:
            start, end = b["arrow"]
            ax.annotate("", xy=(end, 0), xytext=(start, 0), arrowprops=_ARROW_PROPS, zorder=2)


def plot_conv_architecture(
    autoencoder: Autoencoder,
    *,
    figsize: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Figure 7: a convolutional autoencoder as a left-to-right row of blocks.

    One block per layer of :func:`layer_table`. Feature maps ``(H, W, C)`` are
    boxes in perspective (height H, depth W, thickness log2(C)), so they shrink
    through the encoder and grow back through the decoder. Vectors (Flatten,
    Dense) are flat bars, their height growing with the square root of their
    width. Above each block is its output shape (``"28×28×4"``); below it the
    layer type, its spec (``"4@5×5"`` for filters@kernel, units for Dense, the
    window for pooling and upsampling) and its activation. Encoder and decoder
    are shaded (blue, orange) with their parameter counts, the codings block
    highlighted. Shapes come from the built model:
    ``conv_autoencoder(input_shape=(32, 32, 3))`` is drawn from 32×32×3.

    Args:
        autoencoder: a convolutional :class:`~aelib.models.Autoencoder`.
        figsize: of a new figure, in inches; by default one that fits the
            drawing (14.3 x 3.9 for the article's model: 0.82 inch per block).
        ax: draw on this Axes instead, as in :func:`plot_dense_architecture`.

    Returns:
        The figure (``ax.figure`` when ``ax`` is given). Each block's front face
        is a patch with gid "block"; shapes are texts with gid "shape-label",
        the lines below blocks gid "layer-label".

    Raises:
        ValueError: ``autoencoder`` has no Conv2D layer (a dense model).
    """
    table = layer_table(autoencoder)
    figsize = plots.check_figsize(figsize, None, ax)
    if not any(r["layer_type"] in ("Conv2D", "Conv2DTranspose") for r in table):
        raise ValueError(
            "autoencoder must be a convolutional autoencoder (with Conv2D layers, as built "
            f"by conv_autoencoder()); got one with layers "
            f"{', '.join(sorted({r['layer_type'] for r in table}))} and no Conv2D. "
            "Draw dense models with plot_dense_architecture()."
        )
    frame, blocks, shape_y = _conv_layout(table)
    fig, ax = _draw_frame(frame, figsize, ax)
    _draw_conv(ax, blocks, frame.label_y, shape_y)
    return fig

"""Tests of aelib.diagrams: the layer table and the Figure 1 / Figure 7 drawings."""

from __future__ import annotations

import json
import os
import warnings
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from aelib import conv_autoencoder, dense_autoencoder
from aelib.diagrams import layer_table, plot_conv_architecture, plot_dense_architecture

ARTICLE_CONV_SHAPES = [
    (28, 28, 1), (28, 28, 4), (14, 14, 4), (14, 14, 8), (7, 7, 8), (392,), (150,), (16,),
    (120,), (320,), (784,), (7, 7, 16), (14, 14, 16), (14, 14, 8), (28, 28, 8), (28, 28, 4),
    (28, 28, 1),
]  # fmt: skip


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dense_ae():
    return dense_autoencoder(seed=0)


@pytest.fixture(scope="module")
def small_dense_ae():
    return dense_autoencoder(n_codings=8, encoder_units=(100,), seed=0)


@pytest.fixture(scope="module")
def conv_ae():
    return conv_autoencoder(seed=0)


@pytest.fixture(scope="module")
def colour_conv_ae():
    return conv_autoencoder(input_shape=(32, 32, 3), seed=0)


def texts(fig: Figure, gid: str | None = None) -> list[str]:
    """Every non-empty text drawn on the figure's axes (optionally of one gid), in order."""
    found = [t for ax in fig.axes for t in ax.texts if t.get_text()]
    return [t.get_text() for t in found if gid is None or t.get_gid() == gid]


def neurons_per_column(fig: Figure) -> list[int]:
    """Circles drawn per column, left to right."""
    columns = defaultdict(int)
    for ax in fig.axes:
        for p in ax.patches:
            if isinstance(p, Circle) and p.get_gid() == "neuron":
                columns[round(p.center[0], 6)] += 1
    return [columns[x] for x in sorted(columns)]


def column_labels(fig: Figure) -> list[str]:
    """The label lines under each neuron column joined by spaces, left to right."""
    columns = defaultdict(list)
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_gid() == "layer-label" and t.get_text():
                columns[round(t.xy[0], 6)].append(t.get_text())
    return [" ".join(columns[x]) for x in sorted(columns)]


def highlight_box(fig: Figure) -> tuple[float, float, float, float]:
    """``(x0, x1, y0, y1)`` of the codings highlight, in data units."""
    (pill,) = [p for p in fig.axes[0].patches if p.get_gid() == "codings-highlight"]
    x, y = pill.get_x(), pill.get_y()
    return x, x + pill.get_width(), y, y + pill.get_height()


def render(fig: Figure):
    """Draw the figure with Agg, failing on any warning (e.g. a missing glyph)."""
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        canvas.draw()
    return canvas.get_renderer()


def assert_text_readable(fig: Figure) -> None:
    """All texts lie inside the figure and no two overlap (when drawn at dpi 100)."""
    fig.set_dpi(100)
    renderer = render(fig)
    page = fig.bbox
    boxes = []
    for ax in fig.axes:
        for t in ax.texts:
            if not t.get_text():
                continue
            box = t.get_window_extent(renderer)
            inside = (page.x0 <= box.x0 and box.x1 <= page.x1
                      and page.y0 <= box.y0 and box.y1 <= page.y1)
            assert inside, f"text {t.get_text()!r} at {box.extents} is cut off by {page.extents}"
            boxes.append((t.get_text(), box))
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            assert not box_a.overlaps(box_b), f"texts {a!r} and {b!r} overlap"


# --------------------------------------------------------------------------
# the layer table
# --------------------------------------------------------------------------
class TestLayerTableDescribesTheModel:
    def test_dense_article_widths_activations_and_params(self, dense_ae):
        table = layer_table(dense_ae)
        dense = [r for r in table if r["layer_type"] == "Dense"]
        assert [r["units"] for r in dense] == [250, 16, 320, 784]
        assert [r["activation"] for r in dense] == ["relu", "tanh", "relu", "sigmoid"]
        assert [r["part"] for r in dense] == ["encoder", "encoder", "decoder", "decoder"]
        assert sum(r["params"] for r in table) == 457_370
        assert sum(r["params"] for r in table if r["part"] == "encoder") == 200_266
        assert sum(r["params"] for r in table if r["part"] == "decoder") == 257_104

    def test_dense_article_roles_and_shapes(self, dense_ae):
        table = layer_table(dense_ae)
        assert [r["layer_type"] for r in table] == [
            "InputLayer", "Flatten", "Dense", "Dense", "Dense", "Dense", "Reshape",
        ]  # fmt: skip
        assert [r["role"] for r in table] == [
            "input", "hidden", "hidden", "codings", "hidden", "hidden", "output",
        ]  # fmt: skip
        assert table[0]["output_shape"] == (28, 28, 1)
        assert table[1]["output_shape"] == (784,)
        assert table[-1]["output_shape"] == (28, 28, 1)

    def test_decoder_input_layer_is_left_out(self, dense_ae):
        names = [r["name"] for r in layer_table(dense_ae)]
        assert "codings_in" not in names
        assert sum(r["layer_type"] == "InputLayer" for r in layer_table(dense_ae)) == 1

    def test_conv_article_shapes_filters_and_params(self, conv_ae):
        table = layer_table(conv_ae)
        assert [r["output_shape"] for r in table] == ARTICLE_CONV_SHAPES
        convs = [r for r in table if r["layer_type"] == "Conv2D"]
        assert [r["filters"] for r in convs] == [4, 8, 8, 4, 1]
        assert [r["kernel_size"] for r in convs] == [(5, 5), (5, 5), (5, 5), (6, 6), (7, 7)]
        assert [r["activation"] for r in convs] == ["relu"] * 4 + ["sigmoid"]
        assert [r["pool_size"] for r in table if r["layer_type"] == "MaxPooling2D"] == [(2, 2), (2, 2)]
        assert [r["size"] for r in table if r["layer_type"] == "UpSampling2D"] == [(2, 2), (2, 2)]
        assert [r["units"] for r in table if r["layer_type"] == "Dense"] == [150, 16, 120, 320, 784]
        assert sum(r["params"] for r in table) == 359_263
        codings = [r for r in table if r["role"] == "codings"]
        assert [(r["units"], r["activation"]) for r in codings] == [(16, "tanh")]

    def test_shapes_follow_the_builder_arguments(self, colour_conv_ae):
        shapes = [r["output_shape"] for r in layer_table(colour_conv_ae)]
        assert shapes[0] == (32, 32, 3) and shapes[-1] == (32, 32, 3)
        assert (8, 8, 16) in shapes and (512,) in shapes

    def test_records_are_plain_python(self, conv_ae):
        table = layer_table(conv_ae)
        json.dumps(table)  # plain values only
        keys = {"name", "layer_type", "part", "role", "output_shape", "units", "filters",
                "kernel_size", "pool_size", "size", "activation", "params"}  # fmt: skip
        assert all(set(r) == keys for r in table)
        assert all(type(d) is int for r in table for d in r["output_shape"])


# --------------------------------------------------------------------------
# Figure 1
# --------------------------------------------------------------------------
class TestDenseDiagramDrawing:
    def test_returns_a_figure_without_pyplot(self, dense_ae):
        import matplotlib.pyplot as plt

        before = plt.get_fignums()
        fig = plot_dense_architecture(dense_ae)
        assert isinstance(fig, Figure)
        assert plt.get_fignums() == before

    def test_columns_are_labelled_with_role_width_and_activation(self, dense_ae):
        labels = column_labels(plot_dense_architecture(dense_ae))
        assert len(labels) == 5
        assert labels[0].startswith("input 784")
        assert labels[1:4] == ["hidden 250 relu", "codings 16 tanh", "hidden 320 relu"]
        assert labels[4].startswith("output 784 sigmoid")

    def test_circles_grow_with_width_up_to_max_neurons(self, dense_ae):
        counts = neurons_per_column(plot_dense_architecture(dense_ae, max_neurons=12))
        widths = [784, 250, 16, 320, 784]
        assert max(counts) == 12
        by_width = [c for _, c in sorted(zip(widths, counts))]
        assert by_width == sorted(by_width)  # monotone in width
        assert counts[2] < counts[1] < counts[3] < counts[0]  # 16 < 250 < 320 < 784
        fewer = neurons_per_column(plot_dense_architecture(dense_ae, max_neurons=6))
        assert max(fewer) == 6 and sum(fewer) < sum(counts)

    def test_omitted_neurons_are_marked_with_an_ellipsis(self, dense_ae):
        fig = plot_dense_architecture(dense_ae)
        assert texts(fig, "ellipsis") == ["⋮"] * 5  # every layer is wider than drawn
        narrow = plot_dense_architecture(dense_autoencoder(n_codings=2))
        assert neurons_per_column(narrow)[2] == 2
        assert len(texts(narrow, "ellipsis")) == 4  # all neurons of the codings are drawn

    def test_changing_widths_changes_the_drawing(self, dense_ae, small_dense_ae):
        article = plot_dense_architecture(dense_ae)
        small = plot_dense_architecture(small_dense_ae)
        assert column_labels(small)[1:3] == ["hidden 100 relu", "codings 8 tanh"]
        assert column_labels(small) != column_labels(article)
        assert neurons_per_column(small) != neurons_per_column(article)

    def test_encoder_and_decoder_are_marked(self, dense_ae):
        fig = plot_dense_architecture(dense_ae)
        gids = {p.get_gid() for p in fig.axes[0].patches}
        assert {"encoder-band", "decoder-band", "codings-highlight"} <= gids
        words = texts(fig)
        assert "ENCODER" in words and "DECODER" in words
        assert "200,266 parameters" in words and "257,104 parameters" in words

    def test_codings_highlight_surrounds_the_codings_column(self, dense_ae):
        fig = plot_dense_architecture(dense_ae)
        x0, x1, y0, y1 = highlight_box(fig)
        circles = [p for p in fig.axes[0].patches if p.get_gid() == "neuron"]
        inside = [c for c in circles if x0 < c.center[0] < x1]
        assert len(inside) == neurons_per_column(fig)[2]
        assert all(y0 < c.center[1] - c.radius and c.center[1] + c.radius < y1 for c in inside)

    def test_default_size_fits_the_drawing(self, dense_ae):
        size = tuple(plot_dense_architecture(dense_ae).get_size_inches())
        assert size == pytest.approx((5.6, 6.4), abs=0.05)
        fewer = tuple(plot_dense_architecture(dense_ae, max_neurons=6).get_size_inches())
        assert fewer[0] == pytest.approx(size[0]) and fewer[1] < size[1]

    def test_figsize_is_used(self, dense_ae):
        fig = plot_dense_architecture(dense_ae, figsize=(4, 3))
        assert tuple(fig.get_size_inches()) == (4, 3)

    def test_draws_on_a_given_axes(self, dense_ae):
        fig = Figure()
        ax = fig.add_subplot()
        assert plot_dense_architecture(dense_ae, ax=ax) is fig
        assert len(neurons_per_column(fig)) == 5

    def test_default_figure_text_fits_and_does_not_overlap(self, dense_ae, small_dense_ae):
        assert_text_readable(plot_dense_architecture(dense_ae))
        assert_text_readable(plot_dense_architecture(small_dense_ae))


# --------------------------------------------------------------------------
# Figure 7
# --------------------------------------------------------------------------
class TestConvDiagramDrawing:
    def test_one_block_per_layer_with_its_shape(self, conv_ae):
        fig = plot_conv_architecture(conv_ae)
        assert isinstance(fig, Figure)
        expected = ["×".join(map(str, s)) for s in ARTICLE_CONV_SHAPES]
        assert texts(fig, "shape-label") == expected
        blocks = [p for p in fig.axes[0].patches if p.get_gid() == "block"]
        assert len(blocks) == len(ARTICLE_CONV_SHAPES)

    def test_conv_layers_show_filters_kernel_and_activation(self, conv_ae):
        words = texts(plot_conv_architecture(conv_ae), "layer-label")
        for spec in ("4@5×5", "8@5×5", "4@6×6", "1@7×7", "2×2", "150", "16"):
            assert spec in words
        assert words.count("relu") == 8 and words.count("sigmoid") == 1 and words.count("tanh") == 1
        assert "Codings" in words

    def test_blocks_shrink_and_grow_with_the_feature_maps(self, conv_ae):
        fig = plot_conv_architecture(conv_ae)
        blocks = [p for p in fig.axes[0].patches if p.get_gid() == "block"]
        heights = [b.get_height() for b in blocks]
        widths = [b.get_width() for b in blocks]
        conv1, pool1, pool2, maps, up2 = 1, 2, 4, 11, 14  # 28x28x4, 14x14x4, 7x7x8, 7x7x16, 28x28x8
        assert heights[conv1] == pytest.approx(2 * heights[pool1])
        assert heights[pool1] == pytest.approx(2 * heights[pool2])
        assert heights[up2] == pytest.approx(4 * heights[maps])
        assert widths[0] < widths[conv1] < widths[pool2] < widths[maps]  # 1 < 4 < 8 < 16 channels

    def test_other_input_shapes_are_drawn_with_their_sizes(self, colour_conv_ae):
        shapes = texts(plot_conv_architecture(colour_conv_ae), "shape-label")
        assert shapes[0] == "32×32×3" and shapes[-1] == "32×32×3"
        assert "8×8×16" in shapes and "512" in shapes

    def test_encoder_decoder_and_codings_are_marked(self, conv_ae):
        fig = plot_conv_architecture(conv_ae)
        gids = {p.get_gid() for p in fig.axes[0].patches}
        assert {"encoder-band", "decoder-band", "codings-highlight"} <= gids
        words = texts(fig)
        assert "62,278 parameters" in words and "296,985 parameters" in words

    def test_codings_highlight_surrounds_the_codings_block(self, conv_ae):
        fig = plot_conv_architecture(conv_ae)
        x0, x1, y0, y1 = highlight_box(fig)
        blocks = [p for p in fig.axes[0].patches if p.get_gid() == "block"]
        inside = [b for b in blocks if x0 < b.get_x() and b.get_x() + b.get_width() < x1]
        assert len(inside) == 1 and inside[0] is blocks[ARTICLE_CONV_SHAPES.index((16,))]
        assert y0 < inside[0].get_y() and inside[0].get_y() + inside[0].get_height() < y1

    def test_default_size_fits_the_drawing(self, conv_ae):
        size = tuple(plot_conv_architecture(conv_ae).get_size_inches())
        assert size == pytest.approx((14.3, 3.9), abs=0.05)

    def test_figsize_is_used(self, conv_ae):
        fig = plot_conv_architecture(conv_ae, figsize=(10, 3))
        assert tuple(fig.get_size_inches()) == (10, 3)

    def test_draws_on_a_given_axes(self, conv_ae):
        fig = Figure()
        ax = fig.add_subplot()
        assert plot_conv_architecture(conv_ae, ax=ax) is fig
        assert len(texts(fig, "shape-label")) == len(ARTICLE_CONV_SHAPES)

    def test_default_figure_text_fits_and_does_not_overlap(self, conv_ae, colour_conv_ae):
        assert_text_readable(plot_conv_architecture(conv_ae))
        assert_text_readable(plot_conv_architecture(colour_conv_ae))


# --------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------
class TestBadInputsAreRejected:
    @pytest.mark.parametrize("func", [layer_table, plot_dense_architecture, plot_conv_architecture])
    @pytest.mark.parametrize("bad", [None, "dense", 3])
    def test_not_an_autoencoder(self, func, bad):
        with pytest.raises(TypeError, match=r"autoencoder must be an aelib Autoencoder.*got"):
            func(bad)

    def test_keras_model_instead_of_autoencoder(self, dense_ae):
        with pytest.raises(TypeError, match=r"autoencoder must be .*got Functional"):
            plot_dense_architecture(dense_ae.model)

    def test_conv_model_to_dense_diagram(self, conv_ae):
        expected = r"autoencoder must be a dense autoencoder.*conv1 \(Conv2D"
        with pytest.raises(ValueError, match=expected):
            plot_dense_architecture(conv_ae)

    def test_dense_model_to_conv_diagram(self, dense_ae):
        expected = r"autoencoder must be a convolutional autoencoder.*no Conv2D"
        with pytest.raises(ValueError, match=expected):
            plot_conv_architecture(dense_ae)

    @pytest.mark.parametrize(
        ("bad", "error"), [(2, ValueError), (0, ValueError), (5.0, TypeError), (True, TypeError)]
    )
    def test_bad_max_neurons(self, dense_ae, bad, error):
        with pytest.raises(error, match=r"max_neurons must be an integer >= 3, got"):
            plot_dense_architecture(dense_ae, max_neurons=bad)

    @pytest.mark.parametrize("bad", [(0, 4), (6,), "big", (6, float("nan")), (6, 4, 1)])
    @pytest.mark.parametrize("func", ["dense", "conv"])
    def test_bad_figsize(self, dense_ae, conv_ae, func, bad):
        plot, ae = {
            "dense": (plot_dense_architecture, dense_ae),
            "conv": (plot_conv_architecture, conv_ae),
        }[func]
        with pytest.raises(ValueError, match=r"figsize must be \(width, height\).*got"):
            plot(ae, figsize=bad)

    def test_figsize_with_ax(self, dense_ae):
        ax = Figure().add_subplot()
        with pytest.raises(ValueError, match="figsize is only used when a new figure is made; with ax= given"):
            plot_dense_architecture(dense_ae, figsize=(5, 5), ax=ax)

    def test_figsize_with_ax_conv(self, conv_ae):
        ax = Figure().add_subplot()
        with pytest.raises(ValueError, match="figsize is only used when a new figure is made; with ax= given"):
            plot_conv_architecture(conv_ae, figsize=(5, 5), ax=ax)

    @pytest.mark.parametrize("func", [plot_dense_architecture, plot_conv_architecture])
    def test_ax_not_an_axes(self, dense_ae, conv_ae, func):
        ae = dense_ae if func is plot_dense_architecture else conv_ae
        with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes or None, got Figure"):
            func(ae, ax=Figure())


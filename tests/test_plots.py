"""Plots (aelib.plots) and the latent interpolation frames (aelib.animation)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import aelib  # noqa: E402
from aelib import plots  # noqa: E402
from aelib.animation import interpolation_frames  # noqa: E402


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(sample):
    """A dense autoencoder trained 1 epoch on the sample, and its History."""
    ae = aelib.dense_autoencoder(seed=0)
    history = aelib.train(ae, sample.x_train, epochs=1, batch_size=200, seed=0,
                          validation_data=sample.x_test, verbose=0)
    return ae, history


@pytest.fixture(scope="module")
def ae(trained):
    return trained[0]


@pytest.fixture(scope="module")
def vae():
    return aelib.variational_autoencoder("dense", seed=0)  # untrained: only its prior matters here


@pytest.fixture(scope="module")
def codings(ae, sample):
    return ae.encode(sample.x_train[:1000])


@pytest.fixture(scope="module")
def labels(sample):
    return sample.y_train[:1000]


def render(fig: Figure) -> np.ndarray:
    """The figure saved as PNG at dpi=100, as the caller saves it: (height, width, 4) uint8."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return iio.imread(buf.getvalue(), extension=".png")


def png_size(fig: Figure) -> tuple[int, int]:
    """(width, height) in pixels of the figure saved at dpi=100."""
    height, width = render(fig).shape[:2]
    return width, height


def assert_nothing_cut_off(fig: Figure) -> None:
    """Every Axes, with its ticks, labels and title, lies inside the saved figure.

    Checked twice: the Axes' tight boxes lie in the figure, and the saved
    PNG's outermost pixels are blank (a clipped label or colour bar shows
    there even where a layout engine's boxes disagree with what is drawn).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        tight = ax.get_tightbbox(renderer)
        assert tight.x0 >= box.x0 - 1 and tight.y0 >= box.y0 - 1, ax
        assert tight.x1 <= box.x1 + 1 and tight.y1 <= box.y1 + 1, ax
    pixels = render(fig)[..., :3]
    border = np.concatenate([pixels[:2].reshape(-1, 3), pixels[-2:].reshape(-1, 3),
                             pixels[:, :2].reshape(-1, 3), pixels[:, -2:].reshape(-1, 3)])
    assert (border == 255).all(), "something is drawn on the figure's edge"


def shown_image(fig: Figure, index: int = 0) -> np.ndarray:
    images = fig.axes[index].get_images()
    assert len(images) == 1
    return np.asarray(images[0].get_array())


# --------------------------------------------------------------------------
# image grids
# --------------------------------------------------------------------------
class TestImageGrid:
    def test_tiles_the_images_row_by_row(self, sample):
        fig = plots.image_grid(sample.x_test[:21], 3, 7)
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 1
        shown = shown_image(fig)
        assert shown.shape == (84, 196)
        np.testing.assert_array_equal(shown[:28, 28:56], sample.x_test[1, :, :, 0])
        np.testing.assert_array_equal(shown[28:56, :28], sample.x_test[7, :, :, 0])

    def test_grey_in_gray_on_black_without_ticks(self, sample):
        fig = plots.image_grid(sample.x_test[:4], 2, 2)
        ax = fig.axes[0]
        image = ax.get_images()[0]
        assert image.get_cmap().name == "gray"
        assert image.get_clim() == (0.0, 1.0)  # 0 is black whatever the images hold
        assert not ax.axison

    def test_colour_images_stay_in_colour(self):
        rgb = np.random.default_rng(0).random((6, 8, 8, 3)).astype(np.float32)
        shown = shown_image(plots.image_grid(rgb, 2, 3))
        assert shown.shape == (16, 24, 3)
        np.testing.assert_allclose(shown[8:, :8], rgb[3])

    def test_draws_on_a_given_axes(self, sample):
        fig = Figure()
        ax = fig.add_subplot(1, 2, 2)
        assert plots.image_grid(sample.x_test[:2], 1, 2, ax=ax) is fig
        assert len(ax.get_images()) == 1

    def test_default_size_fits_the_grid(self, sample):
        # half an inch per 28-pixel digit, plus margins
        assert png_size(plots.image_grid(sample.x_test[:21], 3, 7)) == (400, 200)

    def test_wrong_number_of_images(self, sample):
        with pytest.raises(ValueError, match=r"images must hold n_rows \* n_cols = 6 images, got 5"):
            plots.image_grid(sample.x_test[:5], 2, 3)

    def test_bad_arguments_are_named(self, sample):
        with pytest.raises(TypeError, match="images must be floats in"):
            plots.image_grid(np.zeros((4, 28, 28, 1), np.uint8), 2, 2)
        with pytest.raises(ValueError, match="n_rows must be an integer >= 1"):
            plots.image_grid(sample.x_test[:4], 0, 4)
        with pytest.raises(ValueError, match="images must have 1 .*channels"):
            plots.image_grid(np.zeros((4, 8, 8, 2), np.float32), 2, 2)
        with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
            plots.image_grid(sample.x_test[:4], 2, 2, ax="left")
        with pytest.raises(ValueError, match="figsize must be"):
            plots.image_grid(sample.x_test[:4], 2, 2, figsize=(3, -1))


class TestGeneration:
    def test_a_grid_of_generated_digits(self, ae):
        fig = plots.plot_generated(ae, seed=0)
        assert len(fig.axes) == 1
        assert shown_image(fig).shape == (3 * 28, 12 * 28)

    def test_published_aspect_at_one_and_a_half_times_its_size(self, ae):
        fig = plots.plot_generated(ae, seed=0)
        assert png_size(fig) == (650, 200)  # published: 429x132
        assert_nothing_cut_off(fig)

    def test_the_seed_decides_the_digits(self, ae):
        a = shown_image(plots.plot_generated(ae, seed=1, n_rows=2, n_cols=3))
        b = shown_image(plots.plot_generated(ae, seed=1, n_rows=2, n_cols=3))
        c = shown_image(plots.plot_generated(ae, seed=2, n_rows=2, n_cols=3))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        np.testing.assert_allclose(
            a, aelib.data.tile_images(ae.generate(6, sigma=0.33, seed=1), 2, 3)[..., 0]
        )

    def test_codings_come_from_the_models_prior_by_default(self, ae, vae):
        for model, sigma in ((ae, 0.33), (vae, 1.0)):
            assert model.prior_sigma == sigma
            np.testing.assert_array_equal(
                shown_image(plots.plot_generated(model, seed=4, n_rows=1, n_cols=4)),
                shown_image(plots.plot_generated(model, sigma=sigma, seed=4, n_rows=1, n_cols=4)))
        assert not np.array_equal(
            shown_image(plots.plot_generated(vae, seed=4, n_rows=1, n_cols=4)),
            shown_image(plots.plot_generated(vae, sigma=0.33, seed=4, n_rows=1, n_cols=4)))

    def test_bad_arguments_are_named(self, ae):
        with pytest.raises(TypeError, match="autoencoder must be an aelib Autoencoder"):
            plots.plot_generated(ae.model)
        with pytest.raises(ValueError, match=r"sigma must be a number in \(0, inf\), got 0.0"):
            plots.plot_generated(ae, sigma=0)
        with pytest.raises(ValueError, match="n_cols must be an integer >= 1"):
            plots.plot_generated(ae, n_cols=-2)


class TestGeneratedComparison:
    def test_one_titled_panel_per_model_each_from_its_prior(self, ae, vae):
        fig = plots.plot_generated_comparison({"plain": ae, "variational": vae}, n_rows=2,
                                              n_cols=3, seed=5)
        assert [ax.get_title() for ax in fig.axes] == ["plain\nN(0, 0.33)", "variational\nN(0, 1)"]
        for i, model in enumerate((ae, vae)):
            expected = aelib.data.tile_images(model.generate(6, seed=5), 2, 3)[..., 0]
            np.testing.assert_allclose(shown_image(fig, i), expected)
        assert_nothing_cut_off(fig)

    def test_bad_arguments_are_named(self, ae):
        with pytest.raises(TypeError, match="autoencoders must be a non-empty mapping"):
            plots.plot_generated_comparison([ae])
        with pytest.raises(TypeError, match="autoencoders must be a non-empty mapping"):
            plots.plot_generated_comparison({})
        with pytest.raises(TypeError, match=r"autoencoders\['keras'\] must be an aelib Autoencoder"):
            plots.plot_generated_comparison({"keras": ae.model})
        with pytest.raises(TypeError, match="the keys of autoencoders must be str labels"):
            plots.plot_generated_comparison({1: ae})


class TestReconstructions:
    def test_originals_over_reconstructions(self, ae, sample):
        x = sample.x_test[:14]
        fig = plots.plot_reconstructions(x, ae.reconstruct(x))
        assert len(fig.axes) == 1
        shown = shown_image(fig)
        assert shown.shape == (56, 14 * 28)
        np.testing.assert_array_equal(shown[:28, :28], x[0, :, :, 0])
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels == ["original", "reconstruction"]
        assert fig.axes[0].get_xticks().size == 0
        assert_nothing_cut_off(fig)

    def test_shapes_must_match(self, sample):
        with pytest.raises(ValueError, match="reconstructions must have the shape of originals"):
            plots.plot_reconstructions(sample.x_test[:14], sample.x_test[:13])
        with pytest.raises(ValueError, match="originals must have rank 4"):
            plots.plot_reconstructions(sample.x_test[0], sample.x_test[0])


# --------------------------------------------------------------------------
# codings
# --------------------------------------------------------------------------
class TestHistograms:
    def test_one_titled_density_panel_per_coordinate(self, codings):
        fig = plots.plot_coding_histograms(codings)
        assert len(fig.axes) == 8
        assert [ax.get_title() for ax in fig.axes] == [
            f"Coord {i}" for i in (0, 1, 2, 4, 5, 6, 7, 14)
        ]
        for ax in fig.axes:
            bars = ax.patches
            assert len(bars) == 20
            area = sum(b.get_height() * b.get_width() for b in bars)
            assert area == pytest.approx(1.0)

    def test_published_aspect_at_one_and_a_half_times_its_size(self, codings):
        fig = plots.plot_coding_histograms(codings)
        assert png_size(fig) == (1286, 636)  # published: 857x424
        assert_nothing_cut_off(fig)

    def test_panels_follow_the_coords(self, codings):
        fig = plots.plot_coding_histograms(codings, coords=[3, 9, 15], n_cols=2, bins=5)
        assert [ax.get_title() for ax in fig.axes] == ["Coord 3", "Coord 9", "Coord 15"]
        assert len(fig.axes[0].patches) == 5

    def test_the_normal_density_over_each_panel(self, codings):
        fig = plots.plot_coding_histograms(codings, coords=(0, 1), normal_sigma=0.5)
        for ax in fig.axes:
            (line,) = ax.get_lines()
            t, density = line.get_data()
            assert density.max() == pytest.approx(1 / (0.5 * np.sqrt(2 * np.pi)), rel=1e-3)
            assert t[np.argmax(density)] == pytest.approx(0.0, abs=0.05)
            assert np.trapezoid(density, t) == pytest.approx(1.0, abs=0.01)  # +-3 sigma or more
        assert fig.axes[0].get_legend().get_texts()[0].get_text() == "N(0, 0.5)"
        assert not plots.plot_coding_histograms(codings, coords=(0,)).axes[0].get_lines()
        with pytest.raises(ValueError, match=r"normal_sigma must be a number in \(0, inf\)"):
            plots.plot_coding_histograms(codings, normal_sigma=-1.0)

    def test_coords_out_of_range(self, codings):
        with pytest.raises(ValueError, match=r"coords\[1\] = 16 is out of range.*0 \.\. 15"):
            plots.plot_coding_histograms(codings, coords=(0, 16))
        with pytest.raises(ValueError, match=r"coords\[0\] = -1 is out of range"):
            plots.plot_coding_histograms(codings, coords=(-1,))
        with pytest.raises(TypeError, match=r"coords\[0\] must be an integer"):
            plots.plot_coding_histograms(codings, coords=(1.5,))

    def test_codings_must_be_a_matrix(self, codings):
        with pytest.raises(ValueError, match=r"codings must have shape \(N, n_codings\)"):
            plots.plot_coding_histograms(codings[0])
        bad = codings.copy()
        bad[3, 2] = np.nan
        with pytest.raises(ValueError, match="codings must be finite"):
            plots.plot_coding_histograms(bad)


class TestProjection:
    @pytest.mark.parametrize("method, kernel", [("pca", "poly"), ("kernel_pca", "poly"),
                                                ("kernel_pca", "rbf"), ("kernel_pca", "cosine")])
    @pytest.mark.parametrize("k", [2, 3])
    def test_shape(self, codings, method, kernel, k):
        z = plots.project_codings(codings[:200], k, method=method, kernel=kernel, seed=0)
        assert z.shape == (200, k)
        assert np.isfinite(z).all()

    def test_points_on_a_line_project_to_a_line(self):
        rng = np.random.default_rng(0)
        t = rng.normal(size=100)
        direction = rng.normal(size=16)
        direction /= np.linalg.norm(direction)
        points = 0.5 + t[:, None] * direction
        z = plots.project_codings(points, 2, method="pca")
        np.testing.assert_allclose(np.abs(z[:, 0]), np.abs(t - t.mean()), atol=1e-6)
        np.testing.assert_allclose(z[:, 1], 0.0, atol=1e-6)

    def test_a_linear_kernel_gives_plain_pca(self, codings):
        pca = plots.project_codings(codings[:300], 2, method="pca")
        kpca = plots.project_codings(codings[:300], 2, kernel="linear", seed=0)
        for i in range(2):  # up to each component's sign
            sign = np.sign(pca[:, i] @ kpca[:, i])
            np.testing.assert_allclose(sign * kpca[:, i], pca[:, i], atol=1e-3)

    def test_kernel_settings_change_the_projection(self, codings):
        a = plots.project_codings(codings[:200], 2, kernel="poly", gamma=0.15, degree=2, seed=0)
        b = plots.project_codings(codings[:200], 2, kernel="poly", gamma=0.15, degree=2,
                                  coef0=3.0, seed=0)
        assert not np.allclose(np.abs(a), np.abs(b))

    def test_a_callable_kernel_with_its_parameters(self, codings):
        def scaled_linear(x, y, scale):
            return scale * x @ y.T

        z = plots.project_codings(codings[:100], 2, kernel=scaled_linear, scale=2.0, seed=0)
        assert z.shape == (100, 2)

    def test_bad_arguments_are_named(self, codings):
        with pytest.raises(ValueError, match="method must be one of"):
            plots.project_codings(codings, method="tsne")
        # KernelPCA's own parameters are checked by scikit-learn, which names them
        with pytest.raises(ValueError, match="'kernel' parameter of KernelPCA"):
            plots.project_codings(codings, kernel="gaussian")
        with pytest.raises(ValueError, match=r"n_components=17 must be between 0 and min\(n_samples, n_features\)=16"):
            plots.project_codings(codings, 17, method="pca")  # scikit-learn's PCA checks it
        with pytest.raises(ValueError, match="'gamma' parameter of KernelPCA"):
            plots.project_codings(codings, gamma=-1.0)
        with pytest.raises(TypeError, match="unknown kernel parameters"):
            plots.project_codings(codings, kernel="rbf", sigma=3)
        with pytest.raises(TypeError, match="only apply to method='kernel_pca'"):
            plots.project_codings(codings, method="pca", coef0=1.0)
        with pytest.raises(ValueError, match="'eigen_solver' parameter of KernelPCA"):
            plots.project_codings(codings, eigen_solver="lobpcg")

    def test_2d_scatter_with_a_colour_bar(self, codings, labels):
        fig = plots.plot_projection(codings, labels, n_samples=300, seed=0)
        assert len(fig.axes) == 2  # the scatter and its colour bar
        ax = fig.axes[0]
        assert ax.name == "rectilinear"
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x$", "$y$")
        assert len(ax.collections[0].get_offsets()) == 300

    def test_3d_scatter_with_a_colour_bar(self, codings, labels):
        fig = plots.plot_projection(codings, labels, n_components=3, kernel="rbf",
                                    gamma=0.18, cmap="PuBu_r", n_samples=300, seed=0)
        assert len(fig.axes) == 2
        ax = fig.axes[0]
        assert ax.name == "3d"
        assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("$x$", "$y$", "$z$")

    def test_the_colour_bar_has_one_band_per_digit_with_its_tick_in_the_middle(
        self, codings, labels
    ):
        fig = plots.plot_projection(codings, labels, n_samples=300, seed=0)
        norm = fig.axes[0].collections[0].norm
        bar_ax = fig.axes[1]
        ticks = bar_ax.get_yticks()
        np.testing.assert_array_equal(ticks, np.arange(10))
        assert [t.get_text() for t in bar_ax.get_yticklabels()] == [str(d) for d in range(10)]
        bounds = np.asarray(norm.boundaries)
        assert len(bounds) == 11 and norm.Ncmap == 10
        np.testing.assert_allclose((bounds[:-1] + bounds[1:]) / 2, ticks)
        assert bar_ax.get_ylim() == (bounds[0], bounds[-1])

    def test_each_digit_has_its_own_colour(self, codings, labels):
        fig = plots.plot_projection(codings, labels, cmap="inferno", n_samples=1000, seed=0)
        FigureCanvasAgg(fig).draw()  # colours are mapped when drawn
        points = fig.axes[0].collections[0]
        shown = np.asarray(points.get_array()).astype(int)
        faces = points.get_facecolors()
        assert faces.shape == (1000, 4)
        steps = matplotlib.colormaps["inferno"].resampled(10)
        for digit in range(10):
            colours = np.unique(faces[shown == digit], axis=0)
            assert len(colours) == 1
            np.testing.assert_allclose(colours[0], to_rgba(steps(digit)))

    def test_the_seed_decides_the_subsample(self, codings, labels):
        def shown(seed):
            fig = plots.plot_projection(codings, labels, method="pca", n_samples=100, seed=seed)
            return np.asarray(fig.axes[0].collections[0].get_array())

        np.testing.assert_array_equal(shown(0), shown(0))
        assert not np.array_equal(shown(0), shown(1))

    @pytest.mark.parametrize("n_components, method, size", [
        (2, "kernel_pca", (594, 486)),  # published 396x324
        (3, "kernel_pca", (756, 432)),  # published 504x288
        (2, "pca", (594, 486)),
        (3, "pca", (756, 378)),  # published 504x252
    ])
    def test_published_aspect_at_one_and_a_half_times_its_size(
        self, codings, labels, n_components, method, size
    ):
        fig = plots.plot_projection(codings, labels, n_components=n_components, method=method,
                                    n_samples=200, seed=0)
        assert png_size(fig) == size
        assert_nothing_cut_off(fig)

    def test_labels_must_be_digits(self, codings, labels):
        with pytest.raises(ValueError, match=r"labels must be classes in 0 \.\. 9"):
            plots.plot_projection(codings, labels + 1)
        with pytest.raises(ValueError, match="labels must have one label per image"):
            plots.plot_projection(codings, labels[:-1])
        with pytest.raises(ValueError, match="labels must be a 1-D array of integer labels"):
            plots.plot_projection(codings, labels.astype(float))

    def test_other_bad_arguments_are_named(self, codings, labels):
        with pytest.raises(ValueError, match="n_components must be 2 or 3 to plot"):
            plots.plot_projection(codings, labels, n_components=4)
        with pytest.raises(ValueError, match="'not-a-map' is not a valid value for cmap"):  # matplotlib's
            plots.plot_projection(codings, labels, cmap="not-a-map")
        with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
            plots.plot_projection(codings, labels, n_samples=0)
        with pytest.raises(ValueError, match=r"n_samples must be at least n_components \(3\)"):
            plots.plot_projection(codings, labels, n_components=3, n_samples=2)
        with pytest.raises(ValueError, match="axis_labels must be 2 strings"):
            plots.plot_projection(codings, labels, axis_labels=("a", "b", "c"))


# --------------------------------------------------------------------------
# training history
# --------------------------------------------------------------------------
class TestHistory:
    def test_from_a_keras_history(self, trained):
        history = trained[1]
        fig = plots.plot_history(history)
        lines = fig.axes[0].get_lines()
        assert [line.get_label() for line in lines] == ["training", "validation"]
        np.testing.assert_array_equal(lines[0].get_xdata(), [1])
        np.testing.assert_allclose(lines[0].get_ydata(), history.history["loss"])

    def test_from_a_dict_epochs_from_one(self):
        fig = plots.plot_history({"loss": [0.07, 0.03, 0.02, 0.01]}, log_y=True)
        ax = fig.axes[0]
        assert len(ax.get_lines()) == 1
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3, 4])
        assert ax.get_yscale() == "log"
        assert_nothing_cut_off(fig)

    def test_draws_on_a_given_axes(self):
        fig = Figure()
        ax = fig.add_subplot()
        assert plots.plot_history({"loss": [1.0, 0.5]}, ax=ax) is fig
        assert len(ax.get_lines()) == 1

    def test_bad_histories(self):
        with pytest.raises(TypeError, match="history must be a keras History"):
            plots.plot_history([0.1, 0.2])
        with pytest.raises(ValueError, match="history must have a 'loss' entry"):
            plots.plot_history({"val_loss": [0.1]})
        with pytest.raises(ValueError, match=r"history\['val_loss'\] must have one value per epoch"):
            plots.plot_history({"loss": [0.1, 0.05], "val_loss": [0.1]})
        with pytest.raises(ValueError, match="log_y=True needs positive losses"):
            plots.plot_history({"loss": [0.1, 0.0]}, log_y=True)


# --------------------------------------------------------------------------
# interpolation frames
# --------------------------------------------------------------------------
def decoded_frame(ae, images: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    tile = aelib.data.tile_images(ae.decode(ae.encode(images)), n_rows, n_cols)
    return aelib.to_uint8(tile)[..., 0]


class TestInterpolation:
    @pytest.fixture(scope="class")
    @classmethod
    def keyframes(cls, sample):
        return sample.x_test[:84].reshape(4, 21, 28, 28, 1)

    def test_frame_count_and_shape(self, ae, keyframes):
        frames = interpolation_frames(ae, keyframes, steps=5)
        assert len(frames) == (4 - 1) * 5 + 1
        assert all(f.shape == (84, 196) and f.dtype == np.uint8 for f in frames)

    def test_starts_and_ends_on_the_decoded_sets(self, ae, keyframes):
        frames = interpolation_frames(ae, keyframes, steps=4)
        first = decoded_frame(ae, keyframes[0], 3, 7)
        last = decoded_frame(ae, keyframes[-1], 3, 7)
        middle = decoded_frame(ae, keyframes[1], 3, 7)
        # uint8 rounding of the same float decoding may differ by one level
        assert np.abs(frames[0].astype(int) - first).max() <= 1
        assert np.abs(frames[-1].astype(int) - last).max() <= 1
        assert np.abs(frames[4].astype(int) - middle).max() <= 1  # t = 0 of the second leg
        assert np.abs(frames[1].astype(int) - first).max() > 1  # the walk moves

    def test_a_closed_walk_returns_to_the_start(self, ae, keyframes):
        frames = interpolation_frames(ae, keyframes, steps=3, closed=True)
        assert len(frames) == 4 * 3
        open_frames = interpolation_frames(ae, keyframes, steps=3)
        assert len(open_frames) == 3 * 3 + 1
        for a, b in zip(frames, open_frames):  # the same walk up to the last set
            assert np.abs(a.astype(int) - b).max() <= 1
        first = decoded_frame(ae, keyframes[0], 3, 7)
        assert np.abs(frames[-1].astype(int) - first).max() > 1  # one step short of the start
        # the published GIF: 5 sets of 3x7 digits, 15 steps, a loop of 75 frames
        assert len(interpolation_frames(ae, np.concatenate([keyframes, keyframes[:1]]),
                                        steps=15, closed=True)) == 75

    def test_another_grid(self, ae, sample):
        frames = interpolation_frames(ae, sample.x_test[:12].reshape(2, 6, 28, 28, 1),
                                      steps=2, n_rows=2, n_cols=3)
        assert len(frames) == 3 and frames[0].shape == (56, 84)

    def test_bad_arguments_are_named(self, ae, keyframes, sample):
        with pytest.raises(ValueError, match=r"keyframes must have shape \(K >= 2, n_rows \* n_cols = 21"):
            interpolation_frames(ae, keyframes[0])  # rank 4: a single set
        with pytest.raises(ValueError, match="keyframes must have shape"):
            interpolation_frames(ae, keyframes[:1])  # K = 1
        with pytest.raises(ValueError, match="keyframes must have shape"):
            interpolation_frames(ae, keyframes, n_cols=6)
        with pytest.raises(ValueError, match="keyframes must be floats in"):
            interpolation_frames(ae, keyframes * 255)
        with pytest.raises(ValueError, match="steps must be an integer >= 1"):
            interpolation_frames(ae, keyframes, steps=0)
        with pytest.raises(TypeError, match="autoencoder must be an aelib Autoencoder"):
            interpolation_frames(ae.encoder, keyframes)


class TestPlotsBeyondTheArticle:
    def test_denoising_rows(self, digits):
        noisy = aelib.add_noise(digits[:6], 0.4, seed=0)
        median = aelib.denoising.classical_denoise(noisy, "median", 3)
        fig = aelib.plot_denoising(digits[:6], noisy, {"median": median})
        assert isinstance(fig, Figure)
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels == ["noisy", "median", "clean"]
        with pytest.raises(ValueError, match=r"denoised\['x'\] must hold as many images as clean \(6\)"):
            aelib.plot_denoising(digits[:6], noisy, {"x": noisy[:2]})

    def test_anomaly_histograms_and_roc(self):
        rng = np.random.default_rng(0)
        flags = rng.random(300) < 0.5
        scores = {"a": np.exp(rng.normal(size=300) + flags), "b": np.exp(rng.normal(size=300))}
        fig = aelib.plot_anomaly(scores, flags, thresholds={"a": 1.0})
        assert len(fig.axes) == 3
        legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
        assert legend[0] == f"a (AUC {aelib.roc_auc(scores['a'], flags):.3f})"
        with pytest.raises(ValueError, match=r"scores\['b'\] must be finite and positive"):
            aelib.plot_anomaly({"b": -scores["b"]}, flags)

    def test_codings_sweep_and_2d(self, sample):
        fig = aelib.plot_codings_sweep([2, 4, 8], {"dense": [0.05, 0.03, 0.02], "PCA": [0.06, 0.04, 0.03]})
        assert [l.get_label() for l in fig.axes[0].get_lines()] == ["dense", "PCA"]
        with pytest.raises(ValueError, match=r"mse\['dense'\] must hold 3 positive numbers"):
            aelib.plot_codings_sweep([2, 4, 8], {"dense": [0.05, 0.03]})
        z = np.random.default_rng(0).uniform(-1, 1, (100, 2))
        fig = aelib.plot_codings_2d(z, sample.y_test[:100])
        assert len(fig.axes) == 2  # the scatter and its colour bar
        with pytest.raises(ValueError, match="codings must have 2 columns"):
            aelib.plot_codings_2d(np.zeros((100, 3)), sample.y_test[:100])

    def test_latent_grid_decodes_a_grid_over_the_prior(self, ae):
        vae2 = aelib.variational_autoencoder("dense", n_codings=2, seed=0)
        values = aelib.plots.latent_grid(5, 1.0)
        np.testing.assert_allclose(values, [-1.6449, -0.5978, 0.0, 0.5978, 1.6449], atol=1e-4)
        fig = aelib.plot_latent_grid(vae2, n=5)
        image = fig.axes[0].get_images()[0].get_array()
        assert image.shape == (5 * 28, 5 * 28)
        # the top-left tile is what the decoder draws from (smallest coding 1, largest coding 2)
        corner = vae2.decode(np.array([[values[0], values[-1]]], "float32"))[0, ..., 0]
        np.testing.assert_allclose(image[:28, :28], corner, atol=1e-6)
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["-1.64", "0", "1.64"]
        even = aelib.plot_latent_grid(vae2, n=4).axes[0]  # rows run top down, columns left to right
        assert [t.get_text() for t in even.get_xticklabels()] == ["-1.64", "0.39", "1.64"]
        assert [t.get_text() for t in even.get_yticklabels()] == ["1.64", "-0.39", "-1.64"]
        with pytest.raises(ValueError, match=r"autoencoder must have 2 codings \(n_codings=2\), got 16"):
            aelib.plot_latent_grid(ae)

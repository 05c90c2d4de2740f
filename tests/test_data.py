"""Loading MNIST and scaling images."""

from __future__ import annotations

import numpy as np
import pytest

import aelib
from aelib.data import MNIST_FINGERPRINTS, keras_cache_path, sample_path

from conftest import other_data_file


class TestSample:
    def test_shapes_dtypes_and_range(self, sample):
        assert sample.x_train.shape == (6000, 28, 28, 1)
        assert sample.x_test.shape == (1000, 28, 28, 1)
        assert sample.x_train.dtype == np.float32
        assert 0.0 <= sample.x_train.min() and sample.x_train.max() == pytest.approx(1.0)
        assert sample.source == "sample" and sample.is_sample

    def test_stratified(self, sample):
        assert np.bincount(sample.y_train).tolist() == [600] * 10
        assert np.bincount(sample.y_test).tolist() == [100] * 10

    def test_is_mnist_like(self, sample):
        # MNIST's mean pixel is 0.1307; a stratified sample lands close to it
        assert sample.x_train.mean() == pytest.approx(0.1307, abs=0.01)

    def test_fingerprint_tells_data_apart(self, sample):
        other = aelib.data.Dataset(sample.x_train[:10], sample.y_train[:10],
                                   sample.x_test, sample.y_test, "sample")
        assert sample.fingerprint() == aelib.load_mnist(source="sample").fingerprint()
        assert sample.fingerprint() != other.fingerprint()


class TestSources:
    def test_explicit_path(self, tmp_path):
        path = tmp_path / "mnist.npz"
        with np.load(sample_path(), allow_pickle=False) as f:
            np.savez(path, **{k: f[k][:50] for k in f.files})
        data = aelib.load_mnist(path)
        assert data.x_train.shape == (50, 28, 28, 1) and data.source == f"file:{path}"

    def test_env_var(self, tmp_path, monkeypatch):
        path = tmp_path / "env.npz"
        with np.load(sample_path(), allow_pickle=False) as f:
            np.savez(path, **{k: f[k][:20] for k in f.files})
        monkeypatch.setenv("AELIB_MNIST", str(path))
        assert len(aelib.load_mnist().x_train) == 20
        assert len(aelib.load_mnist(source="env").x_train) == 20

    def test_keras_cache(self, tmp_path, monkeypatch):
        monkeypatch.delenv("AELIB_MNIST", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path))
        cache = keras_cache_path()
        cache.parent.mkdir(parents=True)
        with np.load(sample_path(), allow_pickle=False) as f:
            np.savez(cache, **{k: f[k][:30] for k in f.files})
        data = aelib.load_mnist()
        assert data.source == "keras" and len(data.x_train) == 30

    def test_falls_back_to_sample_and_says_so(self, tmp_path, monkeypatch):
        monkeypatch.delenv("AELIB_MNIST", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path))

        def no_network():
            raise OSError("no network")

        monkeypatch.setattr("aelib.data._load_keras", no_network)
        with pytest.warns(UserWarning, match="embedded sample"):
            data = aelib.load_mnist()
        assert data.is_sample

    def test_source_keras_does_not_fall_back(self, monkeypatch):
        monkeypatch.delenv("AELIB_MNIST", raising=False)

        def no_network():
            raise OSError("no network")

        monkeypatch.setattr("aelib.data._load_keras", no_network)
        with pytest.raises(OSError, match="no network"):
            aelib.load_mnist(source="keras")


class TestFullMnist:
    def test_reads_the_full_set(self, full_mnist):
        assert full_mnist.x_train.shape == (60000, 28, 28, 1)
        assert full_mnist.x_test.shape == (10000, 28, 28, 1)
        assert full_mnist.x_train.mean() == pytest.approx(0.1307, abs=5e-4)
        assert sorted(np.unique(full_mnist.y_train)) == list(range(10))

    def test_is_known_as_mnist_by_its_fingerprint(self, full_mnist):
        assert full_mnist.source.startswith("file:")  # not Keras's: told by its pixels
        assert full_mnist.is_mnist and full_mnist.name == "MNIST"
        assert full_mnist.summary() == ("full MNIST (60,000 train, of which the autoencoders fit "
                                        "55,000 and hold out 5,000 for validation / 10,000 test)")


class TestOtherData:
    """Data in MNIST's layout that is not MNIST (Fashion-MNIST, say), from a file made here."""

    def test_loads_and_is_told_apart_from_mnist(self, tmp_path):
        data = aelib.load_mnist(other_data_file(tmp_path / "fashion-mnist.npz", 120, 24))
        assert data.x_train.shape == (120, 28, 28, 1) and data.x_train.dtype == np.float32
        assert not data.is_mnist and data.name == "fashion-mnist"
        assert data.summary() == ("fashion-mnist (120 train, of which the autoencoders fit 110 and "
                                  "hold out 10 for validation / 24 test)")

    def test_mnist_in_a_file_is_mnist(self, sample, tmp_path):
        path = tmp_path / "digits.npz"
        with np.load(sample_path(), allow_pickle=False) as f:
            np.savez(path, **{k: f[k] for k in f.files})
        data = aelib.load_mnist(path)
        assert MNIST_FINGERPRINTS[sample.fingerprint()] == "the embedded MNIST sample"
        assert data.is_mnist and sample.is_mnist and data.name == "MNIST"
        assert data.summary() == sample.summary()
        assert sample.summary().startswith("the embedded MNIST sample (6,000 train, of which")


class TestPrepareImages:
    def test_uint8_grey_gets_channel_axis(self):
        x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
        out = aelib.prepare_images(x)
        assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
        np.testing.assert_allclose(out[0, :, :, 0], [[0, 1], [0.2, 0.4]])

    def test_colour_images_keep_their_channels(self):
        x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        out = aelib.prepare_images(x)
        assert out.shape == (3, 32, 32, 3)
        np.testing.assert_allclose(out * 255, x, atol=1e-4)

    def test_scaled_pixels_keep_their_values(self):
        x = np.random.default_rng(1).integers(0, 256, (7, 5, 3), dtype=np.uint8)
        out = aelib.prepare_images(x)
        assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable
        np.testing.assert_array_equal(out[..., 0], x.astype(np.float32) / np.float32(255))

    def test_unit_floats_pass_through(self):
        x = np.linspace(0, 1, 2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
        out = aelib.prepare_images(x)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out[..., 0], x, rtol=1e-6)


class TestTileImages:
    def test_row_major_layout(self):
        imgs = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1) * np.ones((6, 2, 3, 1), np.float32)
        grid = aelib.data.tile_images(imgs, 2, 3)
        assert grid.shape == (4, 9, 1)
        assert grid[0, 0, 0] == 0 and grid[0, 3, 0] == 1 and grid[2, 0, 0] == 3 and grid[3, 8, 0] == 5


class TestLoadImages:
    """A folder of the user's own image files, made here (no network)."""

    @staticmethod
    def write(folder, name, array):
        from PIL import Image

        folder.mkdir(exist_ok=True)
        Image.fromarray(array).save(folder / name)

    def test_reads_resizes_and_converts(self, tmp_path):
        rng = np.random.default_rng(0)
        grey = rng.integers(0, 256, (40, 30), dtype=np.uint8)
        self.write(tmp_path, "b.png", grey)
        self.write(tmp_path, "a.jpg", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
        (tmp_path / "notes.txt").write_text("not an image, and not read")
        x = aelib.load_images(tmp_path, size=(28, 28))
        assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        rgb = aelib.load_images(tmp_path, size=(16, 12), channels=3)
        assert rgb.shape == (2, 16, 12, 3)
        (tmp_path / "a.jpg").unlink()  # one size left: no resizing needed, pixels kept exactly
        np.testing.assert_array_equal(aelib.load_images(tmp_path)[0, ..., 0], grey / np.float32(255))

    def test_the_images_train(self, tmp_path):
        rng = np.random.default_rng(1)
        for i in range(8):
            self.write(tmp_path, f"{i}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        x = aelib.load_images(tmp_path, channels=3)
        ae = aelib.dense_autoencoder(input_shape=x.shape[1:], seed=0)
        history = aelib.train(ae, x, epochs=1, batch_size=4, seed=0, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    def test_bad_folders(self, tmp_path):
        with pytest.raises(ValueError, match="folder must be a folder of image files"):
            aelib.load_images(tmp_path / "missing")
        with pytest.raises(ValueError, match="holds no image files"):
            aelib.load_images(tmp_path)
        (tmp_path / "broken.png").write_bytes(b"not a png")
        with pytest.raises(ValueError, match=r"broken.png in .* is not a readable image"):
            aelib.load_images(tmp_path)
        (tmp_path / "broken.png").unlink()
        self.write(tmp_path, "a.png", np.zeros((28, 28), np.uint8))
        self.write(tmp_path, "b.png", np.zeros((30, 28), np.uint8))
        with pytest.raises(ValueError, match=r"have 2 sizes .* pass size=\(height, width\)"):
            aelib.load_images(tmp_path)
        with pytest.raises(ValueError, match="channels must be 1 \\(grey\\) or 3 \\(RGB\\), got int 2"):
            aelib.load_images(tmp_path, size=(28, 28), channels=2)
        with pytest.raises(ValueError, match="size must be \\(height, width\\)"):
            aelib.load_images(tmp_path, size=28)

"""Bad input: a clear error naming the argument, what was expected and what came,
raised before any work is done."""

from __future__ import annotations

import numpy as np
import pytest

import aelib
from aelib.data import sample_path

GOOD = np.full((4, 28, 28, 1), 0.5, np.float32)


def with_nan():
    x = GOOD.copy()
    x[0, 0, 0, 0] = np.nan
    return x


def with_inf():
    x = GOOD.copy()
    x[1, 3, 3, 0] = np.inf
    return x


def npz(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def mismatched_labels(tmp_path):
    with np.load(sample_path(), allow_pickle=False) as f:
        arrays = {k: f[k][:10] for k in f.files}
    arrays["y_train"] = arrays["y_train"][:7]
    return npz(tmp_path, **arrays)


def corrupt_file(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    return path


def bare_npy(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((2, 28, 28), np.uint8))
    return path


def object_arrays(tmp_path):
    labels = np.empty(2, dtype=object)
    return npz(tmp_path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=labels,
               x_test=np.zeros((2, 28, 28), np.uint8), y_test=labels)


def wrong_keys(tmp_path):
    return npz(tmp_path, images=np.zeros((2, 28, 28), np.uint8))


def without_sevens():
    data = aelib.load_mnist(source="sample")
    keep = data.y_train[:100] != 7
    return aelib.data.Dataset(data.x_train[:100][keep], data.y_train[:100][keep],
                              data.x_test[:20], data.y_test[:20], "sample")


CODINGS = np.random.default_rng(0).normal(size=(20, 16)).astype(np.float32)


def train_fresh(x=GOOD, **kwargs):
    args = dict(epochs=1, batch_size=2, verbose=0) | kwargs
    return aelib.train(aelib.dense_autoencoder(seed=0), x, **args)


# (case, call, exception, message pattern): the pattern names the argument and what came
CASES = [
    ("wrong rank to train", lambda tp: train_fresh(GOOD[..., 0]), ValueError, r"x must have rank 4.*shape \(4, 28, 28\)"),
    ("wrong rank to prepare_images", lambda tp: aelib.prepare_images(np.zeros((28, 28))), ValueError, r"x must have rank 3 .* or 4 .*shape \(28, 28\)"),
    ("uint8 to train", lambda tp: train_fresh((GOOD * 255).astype(np.uint8)), TypeError, r"x must be floats in \[0, 1\], got .*uint8"),
    ("0..255 floats to train", lambda tp: train_fresh(GOOD * 255), ValueError, r"x must be floats in \[0, 1\], got values in \[127.5, 127.5\].*0\.\.255"),
    ("NaN pixels", lambda tp: train_fresh(with_nan()), ValueError, r"x must be finite, got 1 NaN or inf"),
    ("inf pixels", lambda tp: aelib.prepare_images(with_inf()), ValueError, r"x must be finite, got 1 NaN or inf"),
    ("empty array", lambda tp: train_fresh(GOOD[:0]), ValueError, r"x is empty.*shape \(0, 28, 28, 1\)"),
    ("empty to prepare_images", lambda tp: aelib.prepare_images(np.zeros((0, 28, 28), np.uint8)), ValueError, r"x is empty"),
    ("labels of another length", lambda tp: aelib.load_mnist(mismatched_labels(tp)), ValueError, r"y_train must have one label per image: x_train has 10 images, y_train has 7"),
    ("n_codings 0", lambda tp: aelib.dense_autoencoder(n_codings=0), ValueError, r"n_codings must be an integer >= 1, got 0"),
    ("n_codings float", lambda tp: aelib.conv_autoencoder(n_codings=2.5), TypeError, r"n_codings must be an integer >= 1, got float 2.5"),
    ("n_codings bool", lambda tp: aelib.dense_autoencoder(n_codings=True), TypeError, r"n_codings must be an integer >= 1, got bool"),
    ("conv input not divisible by 4", lambda tp: aelib.conv_autoencoder(input_shape=(30, 28, 1)), ValueError, r"input_shape must have height and width divisible by 4.*\(30, 28, 1\)"),
    ("input_shape of rank 2", lambda tp: aelib.dense_autoencoder(input_shape=(28, 28)), ValueError, r"input_shape must be \(height, width, channels\).*\(28, 28\)"),
    ("missing data file", lambda tp: aelib.load_mnist(tp / "nope.npz"), FileNotFoundError, r"path: no MNIST file at .*nope\.npz"),
    ("corrupt file", lambda tp: aelib.load_mnist(corrupt_file(tp)), ValueError, r"path: .*corrupt\.npz' is not a readable \.npz file"),
    ("a .npy array named .npz", lambda tp: aelib.load_mnist(bare_npy(tp)), ValueError, r"path: .*array\.npz' is not a readable \.npz file \(it holds one array of shape \(2, 28, 28\)"),
    ("an npz of pickled objects", lambda tp: aelib.load_mnist(object_arrays(tp)), ValueError, r"path: .*data\.npz' is not a readable \.npz file \(.*allow_pickle"),
    ("npz without the keys", lambda tp: aelib.load_mnist(wrong_keys(tp)), ValueError, r"not an MNIST npz: expected keys \['x_train', 'y_train', 'x_test', 'y_test'\], it has \['images'\]"),
    ("unknown source", lambda tp: aelib.load_mnist(source="internet"), ValueError, r"source must be one of \('file', 'env', 'keras', 'sample'\) or None, got 'internet'"),
    ("epochs 0", lambda tp: train_fresh(epochs=0), ValueError, r"epochs must be an integer >= 1, got 0"),
    ("batch_size -1", lambda tp: train_fresh(batch_size=-1), ValueError, r"batch_size must be an integer >= 1, got -1"),
    ("epochs float", lambda tp: train_fresh(epochs=1.5), TypeError, r"epochs must be an integer >= 1, got float 1.5"),
    ("snapshots of another shape", lambda tp: train_fresh(snapshots=aelib.ReconstructionRecorder(np.zeros((8, 32, 32, 1), np.float32))), ValueError, r"snapshots images must have the model's input shape \(28, 28, 1\), got .*\(8, 32, 32, 1\)"),
    ("validation_data of another shape", lambda tp: train_fresh(validation_data=np.zeros((3, 28, 28, 3), np.float32)), ValueError, r"validation_data must hold images of shape \(28, 28, 1\)"),
    ("unknown recipe", lambda tp: train_fresh(recipe="keras2"), ValueError, r"recipe must be one of \('aelib', 'article'\), got 'keras2'"),
    ("codings of the wrong width", lambda tp: aelib.dense_autoencoder().decode(np.zeros((2, 5))), ValueError, r"codings must have shape \(N, 16\).*\(2, 5\)"),
    ("frames of mixed shapes", lambda tp: aelib.save_gif([np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)], tp / "a.gif"), ValueError, r"frames must all have one shape"),
    ("float frames", lambda tp: aelib.save_gif(np.zeros((2, 4, 4)), tp / "a.gif"), TypeError, r"frames must be uint8 images"),
    ("gif path without .gif", lambda tp: aelib.save_gif(np.zeros((2, 4, 4), np.uint8), tp / "a.png"), ValueError, r"path must end in '\.gif'"),
    ("no frames", lambda tp: aelib.save_gif([], tp / "a.gif"), ValueError, r"frames must be a non-empty list of images, got list \[\]"),
    ("frames of two channels", lambda tp: aelib.save_gif(np.zeros((2, 4, 4, 2), np.uint8), tp / "a.gif"), ValueError, r"frames must be \(n, H, W\) grey or \(n, H, W, 3\) colour images .*\(2, 4, 4, 2\)"),
    ("is_anomaly of rank 2", lambda tp: aelib.roc_auc(np.ones(4), np.ones((2, 2), bool)), ValueError, r"is_anomaly must be a 1-D array of booleans .*\(2, 2\)"),
    ("ragged scores", lambda tp: aelib.roc_auc([[1.0, 2.0], [3.0]], [True, False]), TypeError, r"scores must be a 1-D array of numbers, got list"),
    ("one_class_split of a tuple", lambda tp: aelib.one_class_split((1, 2), 3), TypeError, r"data must be an aelib Dataset .*got tuple"),
    ("one_class_split of a missing digit", lambda tp: aelib.one_class_split(without_sevens(), 7), ValueError, r"digit 7 must occur in both data.y_train and data.y_test"),
    ("source 'file' without a path", lambda tp: aelib.load_mnist(source="file"), ValueError, r"source='file' needs path=, got path=None"),
    ("a path with source 'sample'", lambda tp: aelib.load_mnist(tp / "x.npz", source="sample"), ValueError, r"path= is only used with source='file' or None, got source='sample'"),
    ("methods as one name", lambda tp: aelib.tune_classical(GOOD, GOOD, methods="median"), TypeError, r"methods must be a non-empty sequence of names from .*got str 'median'"),
    ("encoder kernels of another length", lambda tp: aelib.conv_autoencoder(encoder_filters=(4, 8), encoder_kernels=(5,)), ValueError, r"encoder_filters and encoder_kernels must have the same length, got 2 and 1"),
    ("decoder stages of another count", lambda tp: aelib.conv_autoencoder(decoder_filters=(4,), decoder_kernels=(5,)), ValueError, r"decoder_filters and decoder_kernels must have one entry per encoder stage \(2\), got 1 and 1"),
    ("encoder_units a float", lambda tp: aelib.dense_autoencoder(encoder_units=2.5), TypeError, r"encoder_units must be a sequence of ints >= 1, got float 2.5"),
    ("NaN codings", lambda tp: aelib.dense_autoencoder().decode(np.full((2, 16), np.nan)), ValueError, r"codings must be finite, got NaN or inf"),
    ("save to .h5", lambda tp: aelib.dense_autoencoder().save(tp / "m.h5"), ValueError, r"path must end in '\.keras', got '.*m\.h5'"),
    ("codings of strings", lambda tp: aelib.plot_codings_2d(np.array([["a", "b"]]), np.array([0])), TypeError, r"codings must be a 2-D array of numbers .*<U1"),
    ("coords as a string", lambda tp: aelib.plot_coding_histograms(CODINGS, coords="01"), TypeError, r"coords must be a non-empty sequence of coordinate indices, got str '01'"),
    ("more kernel PCA components than codings", lambda tp: aelib.plot_projection(CODINGS[:2], np.zeros(2, int), n_components=3), ValueError, r"n_components must be at most the number of codings \(2\) for method='kernel_pca', got 3"),
    ("plot_codings_sweep sizes an int", lambda tp: aelib.plot_codings_sweep(4, {"a": [0.1]}), TypeError, r"sizes must be a non-empty sequence of integers >= 1, got int 4"),
    ("codings_sweep sizes an int", lambda tp: aelib.codings_sweep(GOOD, GOOD, 16), TypeError, r"sizes must be a non-empty sequence of integers >= 1, got int 16"),
    ("codings_sweep kinds a string", lambda tp: aelib.codings_sweep(GOOD, GOOD, (2,), kinds="dense"), TypeError, r"kinds must be a non-empty sequence of 'dense' / 'conv', got str 'dense'"),
    ("snapshots a list", lambda tp: train_fresh(snapshots=[1]), TypeError, r"snapshots must be a ReconstructionRecorder, got list"),
    ("a VAE decoder that is no model", lambda tp: aelib.vae.VAE(aelib.variational_autoencoder("dense").model.encoder, "decoder"), TypeError, r"decoder must be a keras.Model, got str"),
    ("reconstructions of another shape", lambda tp: aelib.training.reconstruction_frame(GOOD, GOOD[:2]), ValueError, r"originals and reconstructions must have the same shape, got \(4, 28, 28, 1\) and \(2, 28, 28, 1\)"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(call, exc, pattern, tmp_path):
    with pytest.raises(exc, match=pattern):
        call(tmp_path)
    assert not any(p.suffix == ".gif" for p in tmp_path.iterdir())  # nothing written


def test_refused_training_does_no_work():
    ae = aelib.dense_autoencoder(seed=0)
    weights = ae.model.get_weights()
    with pytest.raises(ValueError, match="batch_size"):
        aelib.train(ae, GOOD, epochs=1, batch_size=0, verbose=0)
    assert getattr(ae.model, "optimizer", None) is None  # not even compiled
    for before, after in zip(weights, ae.model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_source_env_needs_the_variable(monkeypatch):
    monkeypatch.delenv("AELIB_MNIST", raising=False)
    with pytest.raises(ValueError, match="source='env' needs the AELIB_MNIST environment variable"):
        aelib.load_mnist(source="env")


def test_a_tf_dataset_of_other_images_is_refused():
    tf = pytest.importorskip("tensorflow")
    stream = tf.data.Dataset.from_tensor_slices(np.zeros((4, 32, 32, 1), np.float32)).batch(2)
    with pytest.raises(ValueError, match=r"x: a tf.data.Dataset must yield image batches of "
                                         r"shape \(batch, 28, 28, 1\)"):
        aelib.train(aelib.dense_autoencoder(seed=0), stream, epochs=1, verbose=0)


def test_frames_per_epoch_need_batches_of_known_count():
    ae = aelib.dense_autoencoder(seed=0)
    ae.model.compile(optimizer="adam", loss="mse")

    def batches():  # a generator: Keras knows no steps per epoch
        yield from [(GOOD, GOOD)] * 2

    recorder = aelib.ReconstructionRecorder(GOOD[:2], per_epoch=2)
    with pytest.raises(ValueError, match="per_epoch > 1 needs training data of known length"):
        ae.model.fit(batches(), epochs=1, callbacks=[recorder], shuffle=False, verbose=0)

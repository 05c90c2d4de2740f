"""The batches aelib.train feeds to fit, on every backend, and noise for denoisers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import aelib
from aelib.batches import _numpy_batches, _shared_tensor, _tf_batches  # tested on purpose
from conftest import streams


class TestBatches:
    """What aelib.train feeds fit: every image once per epoch, in a new order."""

    def epochs(self, n=23, batch_size=5, seed=0, epochs=3):
        x = np.arange(n, dtype="float32").reshape(n, 1, 1, 1)
        batches = [(np.asarray(a), np.asarray(b)) for a, b in aelib.batches.batches(x, batch_size, seed, epochs)]
        assert all(np.array_equal(a, b) for a, b in batches)  # inputs are the targets
        per_epoch = -(-n // batch_size)
        assert len(batches) == epochs * per_epoch
        return [
            [a.ravel().astype(int) for a, _ in batches[e * per_epoch : (e + 1) * per_epoch]]
            for e in range(epochs)
        ]

    def test_each_epoch_is_a_permutation_in_full_batches_then_the_rest(self):
        for batches in self.epochs():
            assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
            assert sorted(np.concatenate(batches)) == list(range(23))

    def test_orders_differ_between_epochs_and_repeat_with_the_seed(self):
        orders = [np.concatenate(b) for b in self.epochs(seed=0)]
        assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
        assert all(np.array_equal(a, np.concatenate(b)) for a, b in zip(orders, self.epochs(seed=0)))
        assert not np.array_equal(orders[0], np.concatenate(self.epochs(seed=1)[0]))

    def test_fewer_images_than_a_batch(self):
        assert [[len(b) for b in e] for e in self.epochs(n=3, epochs=2)] == [[3], [3]]

    def test_tensorflow_pipeline_and_generator_give_the_same_batches(self):
        pytest.importorskip("tensorflow")
        x = np.arange(23, dtype="float32").reshape(23, 1, 1, 1)
        tf_batches = [np.asarray(a) for a, _ in _tf_batches(x, 5, 7, 3)]
        np_batches = [a for a, _ in _numpy_batches(x, 5, 7, 3)]
        assert len(tf_batches) == len(np_batches) == 15
        for a, b in zip(tf_batches, np_batches):
            np.testing.assert_array_equal(a, b)

    def test_runs_without_the_autotuner_and_without_graph_rewrites(self):
        # Both cost whole seconds per call on a 2-core CPU (docs/benchmarks.md).
        pytest.importorskip("tensorflow")
        x = np.zeros((4, 1, 1, 1), "float32")
        options = _tf_batches(x, 2, 0, 1).options()
        assert options.autotune.enabled is False
        assert options.experimental_optimization.apply_default_optimizations is False

    def test_tensorflow_shares_scaled_images_and_copies_unaligned_ones(self):
        tf = pytest.importorskip("tensorflow")
        pixels = np.arange(5 * 9, dtype=np.uint8).reshape(5, 3, 3)
        scaled = aelib.prepare_images(pixels)
        assert scaled.ctypes.data % 64 == 0  # prepare_images allocates on a 64-byte boundary
        buffer = aelib.prepare_images(np.zeros((1, 1, 37), np.uint8)).reshape(-1)
        unaligned = buffer[1:].reshape(4, 3, 3, 1)  # a view that starts 4 bytes on
        unaligned[:] = scaled[:4]
        for x, shared in ((scaled[:4], True), (unaligned, False)):
            before = x.copy()
            tensor = _shared_tensor(x)
            np.testing.assert_array_equal(tensor.numpy(), before)
            x[0, 0, 0, 0] = 7.0  # seen through the tensor only if it shares x's memory
            assert (float(tensor[0, 0, 0, 0]) == 7.0) is shared
        strided = scaled[:, ::2]  # not contiguous: a copy
        np.testing.assert_array_equal(_shared_tensor(strided).numpy(), strided)
        read_only = aelib.prepare_images(pixels)
        read_only.flags.writeable = False
        assert isinstance(_shared_tensor(read_only), tf.Tensor)


class TestAddNoise:
    def test_clipped_seeded_and_fresh(self, digits):
        noisy = aelib.add_noise(digits, 0.4, seed=0)
        assert noisy.shape == digits.shape and noisy.dtype == np.float32
        assert noisy.min() == 0.0 and noisy.max() == 1.0  # clipped, and clipping happened
        np.testing.assert_array_equal(noisy, aelib.add_noise(digits, 0.4, seed=0))
        assert not np.array_equal(noisy, aelib.add_noise(digits, 0.4, seed=1))
        # on mid-grey, where nothing is clipped, the noise has the standard deviation asked for
        grey = np.full((50, 28, 28, 1), 0.5, np.float32)
        assert np.std(aelib.add_noise(grey, 0.1, seed=0) - grey) == pytest.approx(0.1, rel=0.02)
        np.testing.assert_array_equal(aelib.add_noise(digits, 0, seed=0), digits)

    @pytest.mark.parametrize("sigma, error, message", [
        (-0.1, ValueError, r"sigma must be a number in \[0, inf\), got -0.1"),
        (float("nan"), ValueError, r"sigma must be a number in \[0, inf\), got nan"),
        ("0.4", TypeError, "sigma must be a number, got str '0.4'"),
    ])
    def test_bad_sigma(self, digits, sigma, error, message):
        with pytest.raises(error, match=message):
            aelib.add_noise(digits, sigma, seed=0)

    def test_bad_images(self):
        with pytest.raises(ValueError, match=r"x must have rank 4"):
            aelib.add_noise(np.zeros((28, 28)), 0.4)
        with pytest.raises(TypeError, match=r"x must be floats in \[0, 1\]"):
            aelib.add_noise(np.zeros((2, 28, 28, 1), np.uint8), 0.4)


@pytest.mark.backends
class TestNoisyTraining:
    def test_batches_are_noisy_inputs_with_clean_targets(self, sample):
        x = sample.x_train[:400]
        first = [tuple(np.asarray(a) for a in b) for b, _ in zip(aelib.batches.batches(x, 100, 0, 2, 0.4), range(8))]
        order = np.concatenate([aelib.batches.epoch_order(400, 0, 0), aelib.batches.epoch_order(400, 0, 1)])
        for step, (inputs, targets) in enumerate(first):
            np.testing.assert_array_equal(targets, x[order[step * 100:(step + 1) * 100]])
            assert inputs.min() >= 0 and inputs.max() <= 1
            assert 0.2 < np.std(inputs - targets) < 0.45
        # the same image gets fresh noise in the next epoch, the same noise with the same seed
        again = [np.asarray(b[0]) for b, _ in zip(aelib.batches.batches(x, 100, 0, 2, 0.4), range(8))]
        np.testing.assert_array_equal(again[0], first[0][0])
        i = order[0]
        j = int(np.flatnonzero(order[400:] == i)[0])
        assert not np.array_equal(first[0][0][0], first[4 + j // 100][0][j % 100])
        clean = [tuple(np.asarray(a) for a in b) for b, _ in zip(aelib.batches.batches(x, 100, 0, 1), range(1))]
        np.testing.assert_array_equal(clean[0][0], clean[0][1])

    def test_train_with_noise_and_score_against_clean_targets(self, sample):
        x = sample.x_train[:600]
        ae = aelib.dense_autoencoder(seed=0)
        history = aelib.train(ae, x, epochs=1, batch_size=200, seed=0, noise=0.4, verbose=0)
        assert len(history.history["loss"]) == 1
        noisy = aelib.add_noise(sample.x_test[:100], 0.4, seed=0)
        errors = aelib.reconstruction_errors(ae, noisy, targets=sample.x_test[:100])
        assert errors.shape == (100,)
        assert aelib.evaluate(ae, noisy, targets=sample.x_test[:100]) == pytest.approx(errors.mean())

    def test_bad_noise_is_refused_before_training(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        with pytest.raises(ValueError, match=r"noise must be a number in \[0, inf\), got -1"):
            aelib.train(ae, sample.x_train[:200], epochs=1, batch_size=100, noise=-1)
        assert getattr(ae.model, "optimizer", None) is None  # nothing was compiled


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestWithTargets:
    def test_a_denoisers_stream_pairs_noisy_inputs_with_the_clean_images(self, sample):
        """Fresh noise for every batch, a new draw in the next epoch; the targets stay clean."""
        x = sample.x_train[:200]
        for kind, (stream, extra) in streams(x, 100).items():
            data, steps, _ = aelib.batches.with_targets(stream, (28, 28, 1), epochs=2, noise=0.4,
                                                        seed=0, **extra)
            assert steps == 2, kind
            if isinstance(data, keras.utils.PyDataset):
                epochs = [[data[0], data[1]], (data.on_epoch_end(), [data[0]])[1]]
            elif hasattr(data, "element_spec"):  # tf.data: read it once per epoch
                epochs = [list(data.take(2)), list(data.take(1))]
            else:  # one iterator over both epochs
                epochs = [[next(data), next(data)], [next(data)]]
            (a, x0), (b, _), (c, x2) = ([np.asarray(t) for t in pair] for pair in (*epochs[0], *epochs[1]))
            np.testing.assert_array_equal(x0, x[:100], err_msg=kind)
            np.testing.assert_array_equal(x2, x[:100], err_msg=kind)
            for noisy in (a, b, c):
                assert noisy.min() >= 0 and noisy.max() <= 1, kind
            assert np.abs(a - x0).mean() > 0.1, kind  # noise of std 0.4, clipped
            assert not np.allclose(a, c), kind  # the same images, fresh noise next epoch

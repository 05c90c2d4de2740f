"""The batches aelib.train feeds to fit, on every backend, and noise for denoisers."""

from __future__ import annotations

import numpy as np
import pytest

import aelib
from aelib.batches import _numpy_batches, _tf_batches  # the two pipelines, on purpose


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

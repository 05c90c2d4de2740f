"""FusedAdam: Keras's Adam maths, one TensorFlow kernel per variable."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import aelib
from aelib.optimizers import FusedAdam


def _fit(optimizer, x, seed=0):
    ae = aelib.dense_autoencoder(seed=seed)
    ae.model.compile(optimizer=optimizer, loss="mse", steps_per_execution=10)
    history = ae.model.fit(x, x, batch_size=100, epochs=2, shuffle=False, verbose=0)
    return ae, history.history["loss"]


def _update_ops(optimizer, variables):
    optimizer.build(variables)

    @tf.function(autograph=False)
    def step():
        optimizer.apply_gradients([(tf.ones_like(v) * 0.1, v) for v in variables])

    return [op.type for op in step.get_concrete_function().graph.get_operations()]


class TestFusedAdam:
    def test_updates_match_keras_adam(self):
        rng = np.random.default_rng(0)
        start = rng.normal(size=(50, 20)).astype("float32")
        grads = [rng.normal(scale=10.0 ** rng.integers(-6, 1), size=start.shape).astype("float32")
                 for _ in range(10)]

        def run(optimizer):
            w = keras.Variable(start)
            for g in grads:
                optimizer.apply_gradients([(tf.constant(g), w)])
            return w.numpy()

        schedule = keras.optimizers.schedules.CosineDecay(4e-3, 10, alpha=0.01)
        for make in (lambda cls: cls(1e-3), lambda cls: cls(schedule, beta_1=0.8, epsilon=1e-6)):
            fused, reference = run(make(FusedAdam)), run(make(keras.optimizers.Adam))
            np.testing.assert_allclose(fused, reference, rtol=1e-6, atol=1e-7)
            assert np.abs(fused - start).min() > 0 and np.abs(fused - start).mean() > 1e-3

    def test_training_matches_keras_adam(self, sample):
        x = sample.x_train[:1000]
        _, keras_losses = _fit(keras.optimizers.Adam(2e-3), x)
        _, fused_losses = _fit(FusedAdam(2e-3), x)
        # the same run up to rounding, which training amplifies step by step
        np.testing.assert_allclose(fused_losses, keras_losses, rtol=1e-3)
        assert fused_losses[1] < fused_losses[0]

    def test_one_fused_kernel_per_variable(self):
        variables = [keras.Variable(np.zeros((3, 2), "float32")), keras.Variable(np.zeros(2, "float32"))]
        ops = _update_ops(FusedAdam(), variables)
        assert ops.count("ResourceApplyAdam") == len(variables)
        assert "ResourceApplyAdam" not in _update_ops(
            keras.optimizers.Adam(), [keras.Variable(np.zeros(2, "float32"))]
        )

    def test_amsgrad_and_other_dtypes_take_keras_update(self):
        assert "ResourceApplyAdam" not in _update_ops(
            FusedAdam(amsgrad=True), [keras.Variable(np.zeros(2, "float32"))]
        )
        assert "ResourceApplyAdam" not in _update_ops(
            FusedAdam(), [keras.Variable(np.zeros(2, "float64"), dtype="float64")]
        )

    def test_amsgrad_still_updates_like_keras(self):
        def run(optimizer):
            w = keras.Variable(np.array([1.0, -2.0], "float32"))
            for g in ([0.5, 0.1], [-0.2, 0.3], [0.4, -0.1]):
                optimizer.apply_gradients([(tf.constant(g), w)])
            return w.numpy()

        np.testing.assert_allclose(
            run(FusedAdam(0.1, amsgrad=True)), run(keras.optimizers.Adam(0.1, amsgrad=True)), rtol=1e-6
        )

    def test_saved_model_keeps_the_optimizer_and_its_state(self, sample, tmp_path):
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=100, seed=0, verbose=0)
        assert isinstance(ae.model.optimizer, FusedAdam)
        ae.save(tmp_path / "ae.keras")
        loaded = aelib.load_autoencoder(tmp_path / "ae.keras")
        assert isinstance(loaded.model.optimizer, FusedAdam)
        assert int(loaded.model.optimizer.iterations) == int(ae.model.optimizer.iterations) == 4
        for a, b in zip(ae.model.optimizer.variables, loaded.model.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    @pytest.mark.parametrize("recipe", aelib.training.RECIPES)
    def test_train_uses_it_for_both_recipes(self, sample, recipe):
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:200], epochs=1, batch_size=100, recipe=recipe, verbose=0)
        assert isinstance(ae.model.optimizer, FusedAdam)

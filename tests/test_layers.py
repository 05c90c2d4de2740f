"""BlockedConv2D: keras.layers.Conv2D's convolution computed on 2x2 pixel blocks."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import aelib
from aelib.layers import BlockedConv2D, blocked_conv


def _pair(filters, kernel_size, input_shape, seed=0, **kwargs):
    """A stock Conv2D and a BlockedConv2D with the same weights."""
    stock = keras.layers.Conv2D(filters, kernel_size, padding="same", **kwargs)
    blocked = BlockedConv2D(filters, kernel_size, padding="same", **kwargs)
    stock.build((None, *input_shape))
    blocked.build((None, *input_shape))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in stock.weights]
    stock.set_weights(weights)
    blocked.set_weights(weights)
    return stock, blocked


class TestBlockedConv:
    @pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 6, 7])
    @pytest.mark.parametrize("shape", [(28, 28, 4, 1), (28, 28, 8, 4), (6, 10, 3, 2), (2, 2, 1, 1)])
    def test_equals_the_stock_convolution(self, kernel, shape):
        h, w, c_in, c_out = shape
        rng = np.random.default_rng(kernel)
        x = rng.normal(size=(3, h, w, c_in)).astype("float32")
        k = rng.normal(size=(kernel, kernel, c_in, c_out)).astype("float32")
        got = np.asarray(blocked_conv(x, k))
        want = np.asarray(ops.conv(x, k, padding="same"))
        assert got.shape == want.shape == (3, h, w, c_out)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)

    def test_layer_outputs_and_gradients_equal_conv2d(self):
        stock, blocked = _pair(1, 7, (28, 28, 4), activation="sigmoid")
        x = tf.constant(np.random.default_rng(1).uniform(size=(5, 28, 28, 4)).astype("float32"))
        results = []
        for layer in (stock, blocked):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * tf.range(y.shape[1], dtype=y.dtype)[:, None, None])
            results.append((y, *tape.gradient(loss, [x, *layer.trainable_weights])))
        for want, got in zip(*results):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)

    @pytest.mark.parametrize(
        "kwargs, shape",
        [({}, (9, 9, 3)), ({"strides": 2}, (8, 8, 3)), ({"dilation_rate": 2}, (8, 8, 3))],
        ids=["odd size", "strides", "dilation"],
    )
    def test_other_configurations_take_the_stock_path(self, kwargs, shape):
        x = np.random.default_rng(2).normal(size=(2, *shape)).astype("float32")
        stock, blocked = _pair(2, 3, shape, **kwargs)
        assert not blocked._blocked(x)
        np.testing.assert_array_equal(np.asarray(blocked(x)), np.asarray(stock(x)))

    def test_conv_autoencoder_uses_it_for_the_output_only(self, sample):
        fast = aelib.conv_autoencoder(seed=0)
        stock = aelib.conv_autoencoder(seed=0, blocked_output=False)
        convs = [l for l in fast.model.get_layer("decoder").layers if isinstance(l, keras.layers.Conv2D)]
        assert [type(l) for l in convs] == [keras.layers.Conv2D, keras.layers.Conv2D, BlockedConv2D]
        assert type(stock.decoder.get_layer("reconstruction")) is keras.layers.Conv2D
        assert fast.model.count_params() == stock.model.count_params() == 359_263
        for a, b in zip(fast.model.get_weights(), stock.model.get_weights()):
            np.testing.assert_array_equal(a, b)
        x = sample.x_test[:16]
        np.testing.assert_allclose(fast.reconstruct(x), stock.reconstruct(x), atol=1e-5)
        assert aelib.layer_table(fast)[-1]["kind"] == "Conv2D"  # what it computes, for the diagrams

    def test_saved_model_keeps_the_layer(self, sample, tmp_path):
        ae = aelib.conv_autoencoder(seed=0)
        ae.save(tmp_path / "conv.keras")
        loaded = aelib.load_autoencoder(tmp_path / "conv.keras")
        assert type(loaded.decoder.get_layer("reconstruction")) is BlockedConv2D
        x = sample.x_test[:8]
        np.testing.assert_array_equal(loaded.reconstruct(x), ae.reconstruct(x))

    def test_vae_and_mixed_policy_get_it_too(self):
        vae = aelib.variational_autoencoder("conv", seed=0)
        assert type(vae.decoder.get_layer("reconstruction")) is BlockedConv2D
        mixed = aelib.conv_autoencoder(seed=0, dtype_policy="mixed_bfloat16")
        assert mixed.decoder.get_layer("reconstruction").dtype_policy.name == "float32"

    def test_blocked_output_must_be_a_bool(self):
        with pytest.raises(TypeError, match="blocked_output must be True or False, got str"):
            aelib.conv_autoencoder(blocked_output="yes")

"""Building the article's autoencoders, their outputs, saving and loading."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import aelib


ARTICLE_PARAMS = {
    "dense": (aelib.dense_autoencoder, (200_266, 257_104, 457_370)),
    "conv": (aelib.conv_autoencoder, (62_278, 296_985, 359_263)),
}


@pytest.fixture(params=list(ARTICLE_PARAMS), scope="module")
def kind(request):
    return request.param


class TestBuilding:
    def test_parameter_counts_equal_the_articles(self, kind):
        build, counts = ARTICLE_PARAMS[kind]
        ae = build()
        assert (ae.encoder.count_params(), ae.decoder.count_params(), ae.model.count_params()) == counts
        assert ae.kind == kind and ae.n_codings == 16 and ae.input_shape == (28, 28, 1)

    @pytest.mark.backends
    def test_every_variable_has_a_path_of_its_own(self, kind):
        """PyTorch's backend tracks variables by path: two layers with one name in one
        model would share a slot, and one of them would train on stale gradients."""
        build, _ = ARTICLE_PARAMS[kind]
        for ae in (build(), build(encoder_units=(100, 50), decoder_units=(50, 100, 200))):
            paths = [v.path for v in ae.model.variables]
            assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)
            names = [l.name for m in (ae.encoder, ae.decoder) for l in m.layers[1:]]
            assert len(names) == len(set(names))

    def test_widths_are_parameters(self):
        ae = aelib.dense_autoencoder(8, encoder_units=(100,), decoder_units=(64, 128))
        dense = [l.units for m in (ae.encoder, ae.decoder) for l in m.layers if hasattr(l, "units")]
        assert dense == [100, 8, 64, 128, 784]

    def test_conv_decoder_starts_at_a_quarter_of_the_input(self):
        ae = aelib.conv_autoencoder(input_shape=(32, 32, 3))
        assert tuple(ae.decoder.get_layer("feature_maps").output.shape[1:]) == (8, 8, 16)
        assert ae.model.output_shape == (None, 32, 32, 3)

    @pytest.mark.backends
    def test_same_seed_same_weights(self, kind):
        build, _ = ARTICLE_PARAMS[kind]
        a, b, c = build(seed=3), build(seed=3), build(seed=4)
        for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
            np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(a.model.get_weights()[0], c.model.get_weights()[0])


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestForward:
    def test_shapes_and_ranges(self, kind, sample):
        build, _ = ARTICLE_PARAMS[kind]
        ae = build(seed=0)
        x = sample.x_test[:32]
        codings = ae.encode(x)
        assert codings.shape == (32, 16) and np.abs(codings).max() < 1  # tanh
        images = ae.decode(codings)
        assert images.shape == x.shape and 0 < images.min() and images.max() < 1  # sigmoid
        np.testing.assert_allclose(ae.reconstruct(x), images, atol=1e-6)

    def test_large_arrays_go_in_batches(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        x = sample.x_test[:1500]  # more than one direct call
        np.testing.assert_allclose(ae.encode(x)[:10], ae.encode(x[:10]), atol=1e-5)

    def test_generate_is_seeded(self):
        ae = aelib.dense_autoencoder(seed=0)
        a, b, c = ae.generate(4, seed=1), ae.generate(4, seed=1), ae.generate(4, seed=2)
        assert a.shape == (4, 28, 28, 1)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    @pytest.mark.parametrize("build", [aelib.dense_autoencoder, aelib.conv_autoencoder])
    def test_colour_images_build_train_and_reconstruct(self, build):
        x = np.random.default_rng(0).random((64, 32, 32, 3), dtype=np.float32)
        ae = build(input_shape=(32, 32, 3), seed=0)
        history = aelib.train(ae, x, epochs=2, batch_size=32, seed=0, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert ae.reconstruct(x[:5]).shape == (5, 32, 32, 3)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestSaving:
    def test_round_trip_gives_identical_predictions(self, kind, sample, tmp_path):
        build, _ = ARTICLE_PARAMS[kind]
        ae = build(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=200, seed=0, verbose=0)
        x = sample.x_test[:20]

        ae.save(tmp_path / "ae.keras")
        loaded = aelib.load_autoencoder(tmp_path / "ae.keras")
        assert loaded.kind == kind
        np.testing.assert_array_equal(loaded.reconstruct(x), ae.reconstruct(x))
        np.testing.assert_array_equal(loaded.encode(x), ae.encode(x))

        # the encoder and decoder on their own, as plain Keras models
        import keras

        ae.encoder.save(tmp_path / "encoder.keras")
        ae.decoder.save(tmp_path / "decoder.keras")
        encoder = keras.saving.load_model(tmp_path / "encoder.keras")
        decoder = keras.saving.load_model(tmp_path / "decoder.keras")
        codings = ae.encode(x)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(encoder(x)), codings)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(decoder(codings)), ae.decode(codings))

    def test_loaded_model_keeps_training(self, sample, tmp_path):
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=200, seed=0, verbose=0)
        ae.save(tmp_path / "ae.keras")
        loaded = aelib.load_autoencoder(tmp_path / "ae.keras")
        history = aelib.train(loaded, sample.x_train[:400], epochs=1, batch_size=200, verbose=0)
        assert np.isfinite(history.history["loss"][0])


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestMixedPrecision:
    def test_bfloat16_layers_with_float32_weights_codings_and_output(self, kind, sample):
        build, counts = ARTICLE_PARAMS[kind]
        ae = build(seed=0, dtype_policy="mixed_bfloat16")
        plain = build(seed=0)
        policies = {l.name: l.dtype_policy.name for m in (ae.encoder, ae.decoder) for l in m.layers}
        assert policies["hidden1"] == "mixed_bfloat16"
        assert policies["codings"] == "float32"
        assert policies["reconstruction" if kind == "conv" else "pixels"] == "float32"
        assert ae.model.count_params() == counts[2]
        for w, v in zip(ae.model.weights, plain.model.weights):  # same float32 weights
            assert w.dtype == "float32"
            np.testing.assert_array_equal(w.numpy(), v.numpy())
        x = sample.x_test[:16]
        assert ae.encode(x).dtype == np.float32 and ae.reconstruct(x).dtype == np.float32
        np.testing.assert_allclose(ae.reconstruct(x), plain.reconstruct(x), atol=0.02)
        assert keras.config.dtype_policy().name == "float32"  # the global policy is left alone

    def test_a_saved_mixed_model_loads_with_its_policies(self, tmp_path, sample):
        ae = aelib.conv_autoencoder(seed=0, dtype_policy="mixed_bfloat16")
        ae.save(tmp_path / "mixed.keras")
        loaded = aelib.load_autoencoder(tmp_path / "mixed.keras")
        assert loaded.decoder.get_layer("conv3").dtype_policy.name == "mixed_bfloat16"
        x = sample.x_test[:8]
        np.testing.assert_array_equal(loaded.reconstruct(x), ae.reconstruct(x))

    def test_an_unknown_policy_is_named(self):
        with pytest.raises(ValueError, match="dtype_policy must be None or a Keras dtype policy"):
            aelib.conv_autoencoder(dtype_policy="float8")

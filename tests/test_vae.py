"""Variational autoencoders: building, forward pass, training, saving, generation."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import aelib
from aelib.vae import VAE, Sampling


KINDS = ("dense", "conv")


def dense_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv_params(k: int, c_in: int, filters: int) -> int:
    return k * k * c_in * filters + filters


# Parameter counts with the defaults (16 codings, 28x28x1), from the layer sizes.
# dense: encoder Flatten 784 -> Dense 250 -> heads z_mean, z_log_var (16 each);
#        decoder 16 -> 320 -> 784 (the plain one).
# conv:  encoder Conv 5x5 1->4, pool, Conv 5x5 4->8, pool, Flatten 7*7*8 = 392
#        -> Dense 150 -> two heads; decoder 16 -> 120 -> 320 -> 7*7*16, Reshape,
#        up 2 + Conv 5x5 16->8, up 2 + Conv 6x6 8->4, Conv 7x7 4->1 (the plain one).
_DENSE_TRUNK = dense_params(784, 250)  # 196,250
_CONV_TRUNK = conv_params(5, 1, 4) + conv_params(5, 4, 8) + dense_params(392, 150)  # 59,862
_DENSE_HEAD, _CONV_HEAD = dense_params(250, 16), dense_params(150, 16)  # 4,016, 2,416
PARAMS = {  # (ae.encoder [to z_mean], ae.model.encoder [both heads], decoder, stacked)
    "dense": (
        _DENSE_TRUNK + _DENSE_HEAD,  # 200,266: the plain encoder's count
        _DENSE_TRUNK + 2 * _DENSE_HEAD,  # 204,282
        dense_params(16, 320) + dense_params(320, 784),  # 257,104
    ),
    "conv": (
        _CONV_TRUNK + _CONV_HEAD,  # 62,278
        _CONV_TRUNK + 2 * _CONV_HEAD,  # 64,694
        dense_params(16, 120) + dense_params(120, 320) + dense_params(320, 784)
        + conv_params(5, 16, 8) + conv_params(6, 8, 4) + conv_params(7, 4, 1),  # 296,985
    ),
}
STACKED = {"dense": 461_386, "conv": 361_679}


@pytest.fixture(params=KINDS, scope="module")
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def trained(kind, sample):
    """A VAE fitted for 2 epochs on 2,000 sample images with plain ``model.fit``."""
    keras.utils.set_random_seed(0)
    ae = aelib.variational_autoencoder(kind, seed=0)
    ae.model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x, xv = sample.x_train[:2000], sample.x_test[:500]
    history = ae.model.fit(x, x, validation_data=(xv, xv), epochs=2, batch_size=100, verbose=0)
    return ae, history.history


def _losses(model: VAE, x) -> dict:
    """``evaluate`` on one batch: loss, reconstruction_loss and kl_loss of the same draw."""
    return model.evaluate(x, x, batch_size=len(x), verbose=0, return_dict=True)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestBuilding:
    def test_parameter_counts_follow_the_layer_sizes(self, kind):
        ae = aelib.variational_autoencoder(kind)
        means, full, decoder = PARAMS[kind]
        counts = (ae.encoder.count_params(), ae.model.encoder.count_params(),
                  ae.decoder.count_params(), ae.model.count_params())
        assert counts == (means, full, decoder, full + decoder) and full + decoder == STACKED[kind]

    def test_kind_shapes_and_prior(self, kind):
        ae = aelib.variational_autoencoder(kind, n_codings=8)
        assert ae.kind == f"{kind}_vae" and ae.is_variational and ae.prior_sigma == 1.0
        assert ae.n_codings == 8 and ae.input_shape == (28, 28, 1)
        assert isinstance(ae.model, VAE) and ae.model.kl_weight == 1.0

    def test_encoder_ends_in_linear_heads_and_sampling(self, kind):
        ae = aelib.variational_autoencoder(kind)
        names = [layer.name for layer in ae.model.encoder.layers]
        assert names[-3:] == ["z_mean", "z_log_var", "z"]
        for head in ("z_mean", "z_log_var"):
            layer = ae.model.encoder.get_layer(head)
            assert layer.units == 16 and layer.get_config()["activation"] == "linear"
        assert isinstance(ae.model.encoder.get_layer("z"), Sampling)
        assert ae.encoder.layers[-1].name == "z_mean"  # the Autoencoder's encoder gives the means

    def test_trunk_and_decoder_are_the_plain_models(self, kind):
        plain = (aelib.dense_autoencoder if kind == "dense" else aelib.conv_autoencoder)()
        vae = aelib.variational_autoencoder(kind)
        assert vae.decoder.get_config() == plain.decoder.get_config()
        assert [l.get_config() for l in vae.encoder.layers[:-1]] == [
            l.get_config() for l in plain.encoder.layers[:-1]
        ]

    def test_widths_are_passed_to_the_trunk(self):
        ae = aelib.variational_autoencoder("dense", 8, encoder_units=(100,), decoder_units=(64, 128))
        dense = [l.units for m in (ae.model.encoder, ae.decoder) for l in m.layers if hasattr(l, "units")]
        assert dense == [100, 8, 8, 64, 128, 784]
        conv = aelib.variational_autoencoder("conv", input_shape=(32, 32, 3), encoder_filters=(6, 8))
        assert conv.model.encoder.get_layer("conv1").filters == 6
        assert conv.input_shape == (32, 32, 3)
        assert conv.model(np.zeros((2, 32, 32, 3), "float32")).shape == (2, 32, 32, 3)

    def test_every_variable_has_a_path_of_its_own(self, kind):
        ae = aelib.variational_autoencoder(kind)
        paths = [v.path for v in ae.model.variables]
        assert len(paths) == len(set(paths)), sorted(p for p in paths if paths.count(p) > 1)

    def test_same_seed_same_weights(self, kind):
        a, b, c = (aelib.variational_autoencoder(kind, seed=s) for s in (3, 3, 4))
        for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
            np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(a.model.get_weights()[0], c.model.get_weights()[0])


class TestBadInput:
    @pytest.mark.parametrize("kind", ["vae", "Dense", None, 1])
    def test_kind(self, kind):
        with pytest.raises(ValueError, match="kind must be one of"):
            aelib.variational_autoencoder(kind)

    @pytest.mark.parametrize("n_codings, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                                  ("16", TypeError), (True, TypeError)])
    def test_n_codings(self, n_codings, error):
        with pytest.raises(error, match="n_codings"):
            aelib.variational_autoencoder("dense", n_codings)

    @pytest.mark.parametrize("kl_weight, error", [(-1.0, ValueError), (float("nan"), ValueError),
                                                  (float("inf"), ValueError), ("1", TypeError),
                                                  (None, TypeError)])
    def test_kl_weight(self, kl_weight, error):
        with pytest.raises(error, match="kl_weight"):
            aelib.variational_autoencoder("dense", kl_weight=kl_weight)
        ae = aelib.variational_autoencoder("dense")
        with pytest.raises(error, match="kl_weight"):
            VAE(ae.model.encoder, ae.decoder, kl_weight=kl_weight)

    def test_unknown_width_and_seed(self):
        with pytest.raises(TypeError, match="dense_autoencoder.*unexpected keyword argument 'encoder_filters'"):
            aelib.variational_autoencoder("dense", encoder_filters=(4, 8))
        with pytest.raises(ValueError, match="encoder_units"):
            aelib.variational_autoencoder("conv", encoder_units=(0,))
        with pytest.raises(TypeError, match="seed"):
            aelib.variational_autoencoder("dense", seed=1.5)

    def test_vae_arguments(self):
        ae = aelib.variational_autoencoder("dense")
        with pytest.raises(TypeError, match="encoder must be a keras.Model with 3 outputs"):
            VAE(ae.encoder, ae.decoder)  # the z_mean-only encoder
        with pytest.raises(ValueError, match="reconstruction must be one of"):
            VAE(ae.model.encoder, ae.decoder, reconstruction="mse")
        with pytest.raises(ValueError, match="metrics"):
            ae.model.compile(optimizer="adam", metrics=["mse"])


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestForward:
    def test_shapes(self, kind, sample):
        ae = aelib.variational_autoencoder(kind, seed=0)
        x = sample.x_test[:32]
        codings = ae.encode(x)
        assert codings.shape == (32, 16) and codings.dtype == np.float32
        images = ae.decode(codings)
        assert images.shape == x.shape and 0 < images.min() and images.max() < 1  # sigmoid
        assert ae.reconstruct(x).shape == x.shape
        assert ae.generate(5, seed=0).shape == (5, 28, 28, 1)

    def test_reconstruction_decodes_the_means(self, kind, sample):
        ae = aelib.variational_autoencoder(kind, seed=0)
        x = sample.x_test[:16]
        z_mean, z_log_var, z = (keras.ops.convert_to_numpy(t) for t in ae.model.encoder(x))
        np.testing.assert_allclose(ae.encode(x), z_mean, atol=1e-6)
        assert z_log_var.shape == z.shape == (16, 16) and not np.allclose(z, z_mean)
        first = ae.reconstruct(x)
        np.testing.assert_array_equal(ae.reconstruct(x), first)  # deterministic
        np.testing.assert_allclose(first, ae.decode(z_mean), atol=1e-6)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestSampling:
    def test_same_seed_same_draws(self, sample):
        x = sample.x_test[:8]
        a, b, c = (aelib.variational_autoencoder("dense", seed=s) for s in (3, 3, 4))
        draws = [keras.ops.convert_to_numpy(m.model.encoder(x)[2]) for m in (a, b, c)]
        np.testing.assert_array_equal(draws[0], draws[1])
        assert not np.allclose(draws[0], draws[2])
        again = keras.ops.convert_to_numpy(a.model.encoder(x)[2])
        assert not np.allclose(again, draws[0])  # the generator moves on

    def test_watching_does_not_change_training(self, sample):
        """Validation scoring and recorded frames draw from the inference generator:
        a run's weights are the same with and without them."""
        x = sample.x_train[:600]
        plain, watched = (aelib.variational_autoencoder("dense", seed=0) for _ in range(2))
        aelib.train(plain, x, epochs=2, batch_size=100, seed=0, verbose=0)
        aelib.train(watched, x, epochs=2, batch_size=100, seed=0, validation_data=sample.x_test[:200],
                    snapshots=aelib.ReconstructionRecorder(x[:8], per_epoch=3), verbose=0)
        for a, b in zip(plain.model.get_weights(), watched.model.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    def test_reparameterisation(self):
        layer = Sampling(seed=1)
        mean = np.full((4000, 4), 2.0, np.float32)
        log_var = np.full((4000, 4), np.log(9.0), np.float32)  # sigma 3
        z = keras.ops.convert_to_numpy(layer([mean, log_var]))
        assert abs(z.mean() - 2.0) < 0.1 and abs(z.std() - 3.0) < 0.1
        clone = Sampling.from_config(Sampling(seed=5, name="z").get_config())
        assert clone.seed == 5 and clone.name == "z"
        zeros = np.zeros((3, 4), np.float32)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone([zeros, zeros])),
                                      keras.ops.convert_to_numpy(Sampling(seed=5)([zeros, zeros])))


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestTraining:
    def test_loss_decreases_and_is_reported(self, trained):
        _, history = trained
        for name in ("loss", "reconstruction_loss", "kl_loss"):
            assert len(history[name]) == len(history[f"val_{name}"]) == 2
            assert np.isfinite(history[name]).all() and np.isfinite(history[f"val_{name}"]).all()
        assert history["loss"][1] < history["loss"][0]
        assert history["reconstruction_loss"][1] < history["reconstruction_loss"][0]

    def test_loss_is_reconstruction_plus_weighted_kl(self, sample):
        ae = aelib.variational_autoencoder("dense", seed=0)
        x = sample.x_test[:200]
        for weight in (0.0, 1.0, 2.5):
            model = VAE(ae.model.encoder, ae.decoder, kl_weight=weight)
            model.compile(optimizer="adam")
            logs = _losses(model, x)
            assert logs["kl_loss"] > 0
            np.testing.assert_allclose(
                logs["loss"], logs["reconstruction_loss"] + weight * logs["kl_loss"], rtol=1e-5
            )

    def test_kl_weight_shrinks_the_kl_term(self, sample):
        x = sample.x_train[:1000]
        kl = {}
        for weight in (0.1, 10.0):
            keras.utils.set_random_seed(0)
            ae = aelib.variational_autoencoder("dense", seed=0, kl_weight=weight)
            ae.model.compile(optimizer=keras.optimizers.Adam(1e-3))
            kl[weight] = ae.model.fit(x, epochs=2, batch_size=100, verbose=0).history["kl_loss"][-1]
        assert kl[10.0] < kl[0.1] / 2

    def test_data_forms_and_steps_per_execution(self, sample):
        """x alone, (x, x) batches from tf.data, several steps per execution (one
        under PyTorch, which allows no more); the compiled "mse" that aelib.train
        passes is ignored without warnings."""
        tf = pytest.importorskip("tensorflow")
        steps = 1 if keras.backend.backend() == "torch" else 4

        x = sample.x_train[:400]
        ae = aelib.variational_autoencoder("dense", seed=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ae.model.compile(optimizer="adam", loss="mse", steps_per_execution=steps)
            alone = ae.model.fit(x, epochs=1, batch_size=50, verbose=0).history
            pairs = tf.data.Dataset.from_tensor_slices(x).batch(50).map(lambda b: (b, b))
            paired = ae.model.fit(pairs, epochs=1, shuffle=False, verbose=0, validation_data=pairs).history
        assert not [w for w in caught if issubclass(w.category, UserWarning)]
        assert ae.model.get_compile_config()["loss"] is None
        for logs in (alone, paired):
            assert np.isfinite(logs["loss"]).all() and "kl_loss" in logs
        assert "val_reconstruction_loss" in paired
        with pytest.raises(ValueError, match="sample_weight"):
            ae.model.fit(x, x, sample_weight=np.ones(len(x)), epochs=1, verbose=0)

    def test_aelib_train(self, kind, sample):
        """aelib.train (compiles with loss="mse", several steps per execution) and
        its reconstruction recorder work on a VAE."""
        ae = aelib.variational_autoencoder(kind, seed=0)
        recorder = aelib.ReconstructionRecorder(sample.x_test[:4], per_epoch=2)
        history = aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=100, seed=0,
                              validation_data=sample.x_test[:200], snapshots=recorder,
                              verbose=0).history
        assert {"loss", "reconstruction_loss", "kl_loss", "val_loss"} <= set(history)
        assert np.isfinite(history["loss"]).all()
        assert ae.model.steps_per_execution == (1 if keras.backend.backend() == "torch" else 2)
        assert len(recorder.frames) == 3 and recorder.frames[0].shape == (56, 112)
        assert 0 < aelib.evaluate(ae, sample.x_test[:200]) < 1


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestSaving:
    def test_round_trip_gives_identical_outputs(self, trained, sample, tmp_path):
        ae, _ = trained
        x = sample.x_test[:20]
        ae.save(tmp_path / "vae.keras")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = aelib.load_autoencoder(tmp_path / "vae.keras")
        assert not [w for w in caught if issubclass(w.category, UserWarning)]
        assert loaded.kind == ae.kind and loaded.prior_sigma == 1.0
        assert isinstance(loaded.model, VAE) and loaded.model.kl_weight == ae.model.kl_weight
        assert loaded.model.count_params() == ae.model.count_params()
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.model(x)),
                                      keras.ops.convert_to_numpy(ae.model(x)))
        np.testing.assert_array_equal(loaded.reconstruct(x), ae.reconstruct(x))
        np.testing.assert_array_equal(loaded.encode(x), ae.encode(x))
        codings = ae.encode(x)
        np.testing.assert_array_equal(loaded.decode(codings), ae.decode(codings))
        np.testing.assert_array_equal(loaded.generate(6, seed=1), ae.generate(6, seed=1))

    def test_loaded_model_keeps_training(self, sample, tmp_path):
        ae = aelib.variational_autoencoder("dense", seed=0, kl_weight=0.5)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=200, seed=0, verbose=0)
        ae.save(tmp_path / "vae.keras")
        loaded = aelib.load_autoencoder(tmp_path / "vae.keras")
        assert loaded.model.kl_weight == 0.5 and loaded.model.optimizer is not None
        history = aelib.train(loaded, sample.x_train[:400], epochs=1, batch_size=200, verbose=0)
        assert np.isfinite(history.history["kl_loss"][0])


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestGeneration:
    def test_prior_is_the_default_sigma(self, kind):
        ae = aelib.variational_autoencoder(kind, seed=0)
        np.testing.assert_array_equal(ae.generate(4, seed=2), ae.generate(4, sigma=1.0, seed=2))
        assert not np.array_equal(ae.generate(4, seed=2), ae.generate(4, sigma=0.33, seed=2))

    def test_plain_autoencoders_keep_the_articles_sigma(self):
        ae = aelib.dense_autoencoder(seed=0)
        assert ae.prior_sigma == aelib.models.CODINGS_SIGMA == 0.33 and not ae.is_variational
        np.testing.assert_array_equal(ae.generate(4, seed=2), ae.generate(4, sigma=0.33, seed=2))

    def test_generate_is_seeded(self, trained):
        ae, _ = trained
        a, b, c = ae.generate(6, seed=1), ae.generate(6, seed=1), ae.generate(6, seed=2)
        assert a.shape == (6, 28, 28, 1) and 0 < a.min() and a.max() < 1
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        with pytest.raises(ValueError, match="sigma"):
            ae.generate(4, sigma=-1.0)

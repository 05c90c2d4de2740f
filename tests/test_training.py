"""Training, the reconstruction recorder, GIFs and repeatability."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from unittest.mock import patch

import keras
import numpy as np
import pytest

import aelib

from conftest import ImageBatches, streams



def saturated_share(ae, x) -> float:
    """Share of tanh codings pinned at +-1: 1.0 means the codings carry nothing."""
    return float(np.mean(np.abs(ae.encode(x)) > 0.99))


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestTraining:
    @pytest.mark.parametrize(
        "build, batch_size", [(aelib.dense_autoencoder, 200), (aelib.conv_autoencoder, 150)]
    )
    def test_a_short_run_lowers_the_loss(self, build, batch_size, sample):
        ae = build(seed=0)
        before = aelib.evaluate(ae, sample.x_test)
        history = aelib.train(ae, sample.x_train[:3000], epochs=2, batch_size=batch_size,
                              validation_data=sample.x_test, seed=0, verbose=0)
        after = aelib.evaluate(ae, sample.x_test)
        assert after < 0.8 * before
        assert history.history["loss"][1] < history.history["loss"][0]
        # the reported val_loss is the same number evaluate() computes
        assert history.history["val_loss"][-1] == pytest.approx(after, rel=1e-4)

    def test_same_seed_same_losses(self, sample):
        runs = []
        for _ in range(2):
            ae = aelib.dense_autoencoder(seed=0)
            runs.append(aelib.train(ae, sample.x_train[:2000], epochs=2, batch_size=200,
                                    seed=0, verbose=0).history["loss"])
        assert runs[0] == runs[1]
        ae = aelib.dense_autoencoder(seed=1)
        other = aelib.train(ae, sample.x_train[:2000], epochs=2, batch_size=200, seed=1, verbose=0)
        assert other.history["loss"] != runs[0]

    def test_epoch_mse_scores_every_epoch(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        probe = aelib.training.EpochMSE(ae, sample.x_test)
        aelib.train(ae, sample.x_train[:2000], epochs=3, batch_size=200, seed=0,
                    callbacks=[probe], verbose=0)
        assert len(probe.values) == 3 and probe.values[2] < probe.values[0]
        assert probe.values[-1] == pytest.approx(aelib.evaluate(ae, sample.x_test))

    def test_evaluate_is_the_pixel_mse(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        x = sample.x_test[:100]
        expected = np.mean((ae.reconstruct(x).astype(np.float64) - x) ** 2)
        assert aelib.evaluate(ae, x, batch_size=30) == pytest.approx(expected, rel=1e-6)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestExecution:
    def test_xla_for_dense_models_under_tensorflow_only(self):
        from aelib.training import jit_compile

        dense = [aelib.dense_autoencoder(), aelib.variational_autoencoder("dense")]
        conv = [aelib.conv_autoencoder(), aelib.variational_autoencoder("conv")]
        on_tf = keras.backend.backend() == "tensorflow"
        assert [jit_compile(ae.model) for ae in dense] == [True if on_tf else "auto"] * 2
        assert [jit_compile(ae.model) for ae in conv] == ["auto"] * 2

    def test_later_calls_keep_the_optimizer_and_its_state(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=100, seed=0, verbose=0)
        optimizer, iterations = ae.model.optimizer, int(ae.model.optimizer.iterations)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=200, seed=0, verbose=0)
        assert ae.model.optimizer is optimizer
        assert int(optimizer.iterations) == iterations + 2
        assert ae.model.steps_per_execution == (1 if keras.backend.backend() == "torch" else 2)

    def test_a_conv_model_trains_without_xla_on_a_cpu(self, sample):
        ae = aelib.conv_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:300], epochs=1, batch_size=150, verbose=0)
        assert ae.model.jit_compile is False or keras.backend.backend() == "jax"

    def test_a_saved_file_keeps_kerass_default_compile_settings(self, sample, tmp_path):
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=1, batch_size=100, seed=0, verbose=0)
        ae.save(tmp_path / "ae.keras")
        config = keras.saving.load_model(tmp_path / "ae.keras").get_compile_config()
        stock = aelib.dense_autoencoder().model
        stock.compile(optimizer="adam", loss="mse")  # what Keras resolves by default on this backend
        assert config["jit_compile"] == stock.get_compile_config()["jit_compile"]
        assert config["steps_per_execution"] == 1


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestPlateau:
    """The article's recipe collapses to the mean image; aelib's default does not."""

    def test_default_recipe_leaves_the_plateau_within_two_epochs(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        history = aelib.train(ae, sample.x_train, epochs=2, batch_size=200, seed=0, verbose=0)
        assert history.history["loss"][-1] < 0.06  # predicting the mean image scores ~0.067
        assert saturated_share(ae, sample.x_test) < 0.9

    def test_article_recipe_is_reachable_and_shows_the_plateau(self, sample):
        ae = aelib.dense_autoencoder(seed=0)
        history = aelib.train(ae, sample.x_train, epochs=2, batch_size=200, seed=0,
                              recipe="article", verbose=0)
        assert history.history["loss"][-1] > 0.06
        assert saturated_share(ae, sample.x_test) > 0.99


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestRecorder:
    def test_frames_per_epoch_and_layout(self, sample):
        images = sample.x_train[:8]
        recorder = aelib.ReconstructionRecorder(images, per_epoch=4)
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:1000], epochs=2, batch_size=100, snapshots=recorder,
                    seed=0, verbose=0)
        # before training, then 4 per epoch, the last after the final step
        assert len(recorder.frames) == 1 + 2 * 4
        assert recorder.steps == [0, 3, 5, 8, 10, 13, 15, 18, 20]
        frame = recorder.frames[-1]
        assert frame.shape == (56, 224) and frame.dtype == np.uint8
        # top row: the originals; bottom row: the model's reconstructions now
        originals = aelib.data.tile_images(aelib.to_uint8(images), 1, 8)[..., 0]
        np.testing.assert_array_equal(frame[:28], originals)
        expected = aelib.training.reconstruction_frame(images, ae.reconstruct(images))
        np.testing.assert_array_equal(frame, expected)
        assert not np.array_equal(recorder.frames[0][28:], frame[28:])  # it learned

    def test_one_frame_per_epoch_is_taken_at_each_epochs_end(self, sample):
        recorder = aelib.ReconstructionRecorder(sample.x_train[:8], per_epoch=1)
        assert recorder.async_safe  # Keras may run batch hooks asynchronously: it has none to run
        assert not aelib.ReconstructionRecorder(sample.x_train[:8], per_epoch=2).async_safe
        ae, snapshots = aelib.dense_autoencoder(seed=0), []
        after_each_epoch = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: snapshots.append(ae.reconstruct(sample.x_train[:8])))
        aelib.train(ae, sample.x_train[:1000], epochs=3, batch_size=100, snapshots=recorder,
                    callbacks=[after_each_epoch], seed=0, verbose=0)
        assert recorder.steps == [0, 10, 20, 30]
        for frame, reconstruction in zip(recorder.frames[1:], snapshots):
            np.testing.assert_array_equal(
                frame, aelib.training.reconstruction_frame(sample.x_train[:8], reconstruction))

    def test_max_epochs_stops_recording(self, sample):
        recorder = aelib.ReconstructionRecorder(sample.x_train[:8], per_epoch=2, max_epochs=1)
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:400], epochs=3, batch_size=100, snapshots=recorder,
                    seed=0, verbose=0)
        assert len(recorder.frames) == 1 + 2

    def test_frames_at_chosen_steps_match_a_step_by_step_run(self, sample, monkeypatch):
        images, x = sample.x_train[:8], sample.x_train[:1000]
        steps = [1, 2, 5, 10, 14, 30]  # 10 steps per epoch: frames inside epochs 1 and 2, at the end
        recorder = aelib.ReconstructionRecorder(images, at_steps=steps)
        assert not recorder.async_safe and recorder.frame_steps(10) == [1, 2, 4, 5, 10]
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, x, epochs=3, batch_size=100, snapshots=recorder, seed=0, verbose=0)
        assert recorder.steps == [0, *steps]
        # the same training one step per call: the frames show the model after those steps
        reference, model_frames = aelib.dense_autoencoder(seed=0), {}

        class Every(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                # as the recorder does: predict_on_batch sees the weights under JAX too
                recon = np.asarray(self.model.predict_on_batch(images), dtype=np.float32)
                model_frames[self.epoch * 10 + batch + 1] = aelib.training.reconstruction_frame(images, recon)

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

        monkeypatch.setattr("aelib.training._steps_per_execution", lambda steps, marks: 1)
        aelib.train(reference, x, epochs=3, batch_size=100, callbacks=[Every()], seed=0, verbose=0)
        for step, frame in zip(steps, recorder.frames[1:]):
            np.testing.assert_allclose(frame, model_frames[step], atol=2)

    def test_at_steps_is_checked(self, sample):
        for bad in ([], [0, 3], [1.5], "12", None.__class__):
            with pytest.raises(ValueError, match="at_steps must be a non-empty sequence"):
                aelib.ReconstructionRecorder(sample.x_train[:8], at_steps=bad)
        with pytest.raises(ValueError, match="either at_steps or per_epoch"):
            aelib.ReconstructionRecorder(sample.x_train[:8], per_epoch=2, at_steps=[3])

    def test_spaced_steps(self):
        steps = aelib.spaced_steps(275, 50)  # the dense model: 55,000 images in batches of 200
        assert steps[:5] == [11, 22, 33, 44, 55] and steps[-1] == 50 * 275
        assert all(s % 11 == 0 for s in steps)  # 11 divides 275: several steps per execution
        assert sum(s <= 275 for s in steps) >= 8  # dense in the first epoch
        gaps = np.diff(steps)
        assert (gaps[1:] >= gaps[:-1] - 11).all()  # spacing grows
        assert aelib.spaced_steps(7, 1, frames=3) == [1, 3, 7]
        with pytest.raises(ValueError, match="frames"):
            aelib.spaced_steps(10, 2, frames=0)

    def test_colour_frames(self):
        images = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
        frame = aelib.training.reconstruction_frame(images, images)
        assert frame.shape == (64, 256, 3)


@pytest.mark.backends
class TestReconstructionErrors:
    @pytest.fixture(scope="class")
    @classmethod
    def ae(cls):
        return aelib.conv_autoencoder(seed=0)

    def test_per_image_and_their_mean_is_evaluate(self, ae, digits):
        errors = aelib.reconstruction_errors(ae, digits, batch_size=64)
        assert errors.shape == (len(digits),) and errors.dtype == np.float64
        assert errors.mean() == pytest.approx(aelib.evaluate(ae, digits), rel=1e-6)
        recon = ae.reconstruct(digits[:3])
        expected = np.mean(np.square(recon - digits[:3], dtype=np.float64), axis=(1, 2, 3))
        np.testing.assert_allclose(errors[:3], expected, rtol=1e-5)

    def test_bad_input(self, ae, digits):
        with pytest.raises(ValueError, match=r"targets must hold one image per image of x \(200\)"):
            aelib.reconstruction_errors(ae, digits, targets=digits[:10])
        with pytest.raises(TypeError, match="autoencoder must be an aelib Autoencoder"):
            aelib.reconstruction_errors(ae.model, digits)
        with pytest.raises(ValueError, match=r"x must hold images of shape \(28, 28, 1\)"):
            aelib.reconstruction_errors(ae, np.zeros((2, 14, 14, 1), np.float32))


SEVERAL_DEVICES = """
import json, os
os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=2"
import keras, numpy as np
import aelib

data = aelib.load_mnist(source="sample")
runs = {}
for mode, distribution in (("one_device", None), ("data_parallel", keras.distribution.DataParallel())):
    keras.distribution.set_distribution(distribution)
    ae = aelib.dense_autoencoder(seed=0)
    recorder = aelib.ReconstructionRecorder(data.x_test[:4], per_epoch=2)
    batches = []
    count = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    history = aelib.train(ae, data.x_train[:2000], epochs=2, batch_size=200, seed=0, verbose=0,
                          snapshots=recorder, validation_data=data.x_test[:400], callbacks=[count])
    kernel = ae.model.trainable_variables[0].value
    runs[mode] = {"history": history.history, "batches": len(batches),
                  "frames": [f.tolist() for f in recorder.frames],
                  "devices": len(kernel.sharding.device_set),
                  "n_devices": len(keras.distribution.list_devices())}
print(json.dumps(runs))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_train_runs_data_parallel_on_two_devices(tmp_path):
    """keras.distribution.DataParallel over two simulated CPU devices under JAX: batch_size
    is the global batch (each device takes half), the weights sit on both devices, and the
    loss curve, validation loss and recorder frames are one device's within float32 rounding."""
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS=os.environ.get("XLA_FLAGS", ""))
    proc = subprocess.run([sys.executable, "-c", SEVERAL_DEVICES], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    one, parallel = runs["one_device"], runs["data_parallel"]
    assert one["n_devices"] == parallel["n_devices"] == 2
    assert (one["devices"], parallel["devices"]) == (1, 2)  # replicated weights: on both devices
    assert one["batches"] == parallel["batches"] > 0  # the same steps (several per call to the device)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(parallel["history"][key], one["history"][key], rtol=1e-5)
    assert len(parallel["frames"]) == len(one["frames"]) == 5  # the untrained frame + 2 per epoch
    np.testing.assert_allclose(np.array(parallel["frames"], float), np.array(one["frames"], float), atol=2)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
class TestStreams:
    def test_every_kind_of_stream_trains_alike(self, sample):
        """A tf.data dataset, a PyDataset, a PyTorch DataLoader and a generator of the
        same batches give the same losses, with the recorder and validation data."""
        x = sample.x_train[:500]
        histories = {}
        kinds = streams(x, 100)
        kinds.pop("generator")  # an iterable like the DataLoader: the same code
        for kind, (stream, extra) in kinds.items():
            ae = aelib.dense_autoencoder(seed=0)
            recorder = aelib.ReconstructionRecorder(x[:4], per_epoch=2)
            history = aelib.train(ae, stream, epochs=2, seed=0, snapshots=recorder,
                                  validation_data=sample.x_test[:100], verbose=0, **extra)
            assert len(recorder.frames) == 5, kind  # before training, then 2 per epoch
            histories[kind] = history.history
        first = histories.pop("tf.data")
        assert first["loss"][1] < first["loss"][0]
        for kind, history in histories.items():
            for key in ("loss", "val_loss"):
                np.testing.assert_allclose(history[key], first[key], rtol=1e-5, err_msg=kind)

    def test_mean_image_starts_the_output_bias(self, sample):
        x = sample.x_train[:400]
        default = aelib.train(aelib.dense_autoencoder(seed=0), x, batch_size=100, epochs=1,
                              seed=0, verbose=0)
        given = aelib.train(aelib.dense_autoencoder(seed=0), x, batch_size=100, epochs=1, seed=0,
                            mean_image=x.mean(axis=0), verbose=0)
        dimmed = aelib.train(aelib.dense_autoencoder(seed=0), x, batch_size=100, epochs=1, seed=0,
                             mean_image=x.mean(axis=0) * 0.2, verbose=0)
        assert given.history["loss"] == pytest.approx(default.history["loss"], rel=1e-6)
        assert dimmed.history["loss"] != pytest.approx(default.history["loss"], rel=1e-3)


@pytest.mark.parametrize("make, extra, error, words", [
    (lambda x: ImageBatches(x[:, :20], 100), {}, ValueError, "shape (28, 28, 1)"),
    (lambda x: ((x[:100], 0) for _ in range(2)), {"steps_per_epoch": 2}, TypeError, "images alone"),
    (lambda x: iter(()), {"steps_per_epoch": 2}, ValueError, "empty"),
    (lambda x: (x[:100] for _ in range(2)), {}, ValueError, "steps_per_epoch is needed"),
    (lambda x: ImageBatches(x * 255, 100), {}, ValueError, "floats in [0, 1]"),
])
def test_a_bad_stream_is_refused_before_training(sample, make, extra, error, words):
    ae = aelib.dense_autoencoder(seed=0)
    before = ae.model.get_weights()
    with pytest.raises(error, match=re.escape(words)):
        aelib.train(ae, make(sample.x_train[:200]), epochs=1, verbose=0, **extra)
    assert getattr(ae.model, "optimizer", None) is None  # nothing compiled,
    assert all(np.array_equal(a, b) for a, b in zip(before, ae.model.get_weights()))  # nothing trained


@pytest.mark.parametrize("kwargs, words", [
    ({"batch_size": 100}, "batch_size must be None when x is a ImageBatches"),
    ({"mean_image": np.zeros((28, 28))}, "mean_image must have the model's input shape (28, 28, 1)"),
])
def test_stream_arguments_are_checked(sample, kwargs, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        aelib.train(aelib.dense_autoencoder(seed=0), ImageBatches(sample.x_train[:200], 100), epochs=1,
                    **kwargs)


def test_an_array_needs_a_batch_size_and_no_steps_per_epoch(sample):
    ae = aelib.dense_autoencoder(seed=0)
    with pytest.raises(ValueError, match="batch_size is needed when x is an array, got None"):
        aelib.train(ae, sample.x_train[:200], epochs=1)
    with pytest.raises(ValueError, match="steps_per_epoch is for a stream x"):
        aelib.train(ae, sample.x_train[:200], epochs=1, batch_size=100, steps_per_epoch=2)


#: train 5 epochs with a backup, a recorder and noise; with "kill", kill -9 itself in epoch 3
RESUMABLE = r"""
import json, os, signal, sys
import keras, numpy as np, aelib
backup, kill = sys.argv[1], sys.argv[2] == "kill"
data = aelib.load_mnist(source="sample")
x = data.x_train[:1000]

class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if kill and self.epoch == 2:
            os.kill(os.getpid(), signal.SIGKILL)

ae = aelib.dense_autoencoder(seed=0)
recorder = aelib.ReconstructionRecorder(x[:4], per_epoch=2)
history = aelib.train(ae, x, epochs=5, batch_size=200, seed=0, noise=0.3, snapshots=recorder,
                      backup_dir=backup, callbacks=[Kill()], verbose=0)
print(json.dumps({"mse": aelib.evaluate(ae, data.x_test), "history": history.history,
                  "epoch": history.epoch, "steps": recorder.steps,
                  "frames": np.stack(recorder.frames).tolist(), "left": os.path.exists(backup)}))
"""


@pytest.mark.backends  # also run under JAX and PyTorch in CI
def test_a_killed_run_resumes_after_its_last_finished_epoch(tmp_path):
    """kill -9 in epoch 3 of 5, run again: the same batches, noise, learning rates and
    frames follow, so the result is the uninterrupted run's (identical on these CPUs)."""
    def run(mode):
        return subprocess.run([sys.executable, "-c", RESUMABLE, str(tmp_path / "backup"), mode],
                              capture_output=True, text=True, timeout=600)

    killed = run("kill")
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (tmp_path / "backup" / "aelib-progress.npz").is_file()  # epochs 1 and 2 backed up
    resumed = run("no")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed = json.loads(resumed.stdout.strip().splitlines()[-1])
    whole = {}  # the same script, uninterrupted, in this process
    with patch.object(sys, "argv", ["-c", str(tmp_path / "whole"), "no"]), \
            patch("builtins.print", lambda text: whole.update(json.loads(text))):
        exec(RESUMABLE, {})
    assert resumed["mse"] == pytest.approx(whole["mse"], abs=1e-4)
    assert resumed["epoch"] == whole["epoch"] == [0, 1, 2, 3, 4]  # the backed-up epochs' logs too
    np.testing.assert_allclose(resumed["history"]["loss"], whole["history"]["loss"], rtol=1e-5)
    # 5 steps per epoch, frames after steps 3 and 5 of each
    assert resumed["steps"] == whole["steps"] == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25]
    np.testing.assert_allclose(np.array(resumed["frames"], float), np.array(whole["frames"], float),
                               atol=1)
    assert not resumed["left"] and not whole["left"]  # Keras removes the backup at the end

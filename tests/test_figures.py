"""`aelib figures`: every figure from one command, quick mode on the sample."""

from __future__ import annotations

import math
import re
from pathlib import Path

import imageio.v3 as iio
import pytest

import aelib
from aelib import cli
from aelib import studies
from aelib.figures import FIGURES, MODELS, regenerate
from aelib.training import spaced_steps

from conftest import run_cli


ROOT = Path(__file__).resolve().parents[1]

# (height, width) of each PNG at dpi 100, or the frame count and frame size of each GIF
PNG_SIZES = {
    "k_auto0.png": (641, 563),
    "k_auto0_gen.png": (200, 650),
    "k_auto0_enc-hist.png": (636, 1286),
    "k_auto0_kerpca2d-all.png": (486, 594),
    "k_auto0_kerpca3d-all.png": (432, 756),
    "k_auto_conv1.png": (387, 1430),
    "k_auto_conv1-gen.png": (200, 650),
    "k_auto_conv1_kerpca3d-all.png": (432, 756),
    "k_auto0_pca2d-all.png": (486, 594),
    "k_auto0_pca3d-all.png": (378, 756),
    "k_auto_conv1_kerpca2d-all.png": (486, 594),
    "k_auto0_rec-test.png": (150, 880),
    "k_vae_gen.png": (200, 650),
    "k_vae_enc-hist.png": (636, 1286),
    "k_vae_kerpca3d-all.png": (432, 756),
    "k_gen_compare.png": (410, 1050),
    # beyond the article
    "k_denoise.png": (300, 950),
    "k_anomaly.png": (360, 1600),
    "k_codings.png": (400, 640),
    "k_codings2d.png": (460, 1100),
    "k_vae_grid2d.png": (560, 1240),
}
DENSE, CONV = MODELS["dense"], MODELS["conv"]
SAMPLE_FIT = 5500  # the embedded sample's 6,000 training images less the validation split
GIF_FRAMES = {  # quick mode: the untrained frame + the recorded steps
    "k_auto0_rec0_low.gif": (1 + len(spaced_steps(math.ceil(SAMPLE_FIT / DENSE.batch_size),
                                                  DENSE.quick_epochs, DENSE.snapshot_spaced)), 56, 224),
    "k_auto_conv1_rec.gif": (1 + min(CONV.quick_epochs, CONV.snapshot_epochs) * 20, 56, 224),
    "k_auto0_inter.gif": (75, 84, 196),
    "k_vae_inter.gif": (75, 84, 196),
}


# Run once, on the suite's backend: the files, their sizes and frames and the gallery do
# not depend on the backend. Under JAX and PyTorch the notebook's quick run (test_notebook.py)
# trains every model kind and draws every kind of figure through the same functions.
class TestQuickRegeneration:
    def test_every_figure_is_written(self, quick_run):
        out, _, _ = quick_run
        files = sorted(s.file for s in FIGURES.values())
        assert sorted(p.name for p in out.iterdir()) == sorted(files + ["README.md"])
        assert set(PNG_SIZES) | set(GIF_FRAMES) == {s.file for s in FIGURES.values()}

    @pytest.mark.parametrize("name, size", PNG_SIZES.items())
    def test_png_opens_with_its_size(self, quick_run, name, size):
        image = iio.imread(quick_run[0] / name)
        assert image.shape[:2] == size
        assert image[..., :3].std() > 5  # something is drawn

    @pytest.mark.parametrize("name, shape", GIF_FRAMES.items())
    def test_gif_has_its_frames(self, quick_run, name, shape):
        frames = aelib.read_gif(quick_run[0] / name)
        assert frames.shape[:3] == shape

    def test_gallery_names_every_figure_and_model(self, quick_run):
        gallery = (quick_run[0] / "README.md").read_text()
        assert "Made by `python -m aelib figures --quick` (seed 0) on the embedded MNIST sample" in gallery
        for spec in FIGURES.values():
            assert f"]({spec.file})" in gallery and f"--only {spec.name}`" in gallery
        assert gallery.count(f"| dense autoencoder | {DENSE.quick_epochs} | 200 | float32 | 0.0") == 1

    def test_progress_and_closing_table(self, quick_run):
        _, _, stdout = quick_run
        assert "data: sample (6000 train, the autoencoders fit 5500 / 1000 test); quick run, seed 0" in stdout
        assert f"[1/{len(FIGURES)}] figure 1: k_auto0.png" in stdout
        assert f"dense autoencoder: epoch {DENSE.quick_epochs}/{DENSE.quick_epochs}" in stdout
        assert f"conv autoencoder: epoch {CONV.quick_epochs}/{CONV.quick_epochs}" in stdout
        table = stdout[stdout.index("figure  file"):]
        assert all(spec.file in table for spec in FIGURES.values())
        assert "dense autoencoder: test MSE 0.0" in table and "conv autoencoder: test MSE 0.0" in table
        assert "data: sample" in table
        total, training, rest, share = map(float, re.search(
            r"total ([\d.]+) s: training ([\d.]+) s, everything else ([\d.]+) s \((\d+)%\)",
            table).groups())
        assert abs(training + rest - total) <= 0.15 and training > 0
        assert abs(share - 100 * rest / total) <= 1
        # where docs/benchmarks.md measured another backend faster for a model, one line says so
        from aelib import cli, devices

        line = cli.SHORT_ON_TENSORFLOW.get(devices.cpu_class())
        assert (line in table) if line else ("speed on this CPU class" not in table)

    def test_models_are_cached_with_their_record(self, quick_run):
        _, cache, _ = quick_run
        import json

        infos = [json.loads(p.read_text()) for p in cache.glob("*.json")]
        extras = [i for i in infos if "what" in i["config"]]  # the figures beyond the article
        infos = [i for i in infos if "what" not in i["config"]]
        assert sorted(i["config"]["kind"] for i in infos) == ["conv", "dense", "dense_vae"]
        assert sorted(i["config"]["what"] for i in extras) == sorted(
            [f"denoise-{k}-040" for k in ("dense", "conv")]
            + [f"oneclass-{k}-{studies.ANOMALY_DIGIT}" for k in ("dense", "conv")]
            + [f"codings-{k}-{n}" for k in ("dense", "conv") for n in studies.QUICK_CODINGS_SIZES]
            + ["vae2d-dense"])
        by_kind = {i["config"]["kind"]: i["config"] for i in infos}
        for extra in extras:  # the denoisers train on from the figures' trained models
            start = extra["config"]["start"]
            if extra["config"]["what"].startswith("denoise-"):
                assert start == by_kind[extra["config"]["kind"]], extra["config"]["what"]
            else:
                assert start is None, extra["config"]["what"]
        for info in infos:
            assert info["config"]["seed"] == 0 and info["config"]["data_source"] == "sample"
            assert 0 < info["test_mse"] < 0.1
        assert len(list(cache.glob("*.keras"))) == 3 + len(extras)


class TestNoFullMnist:
    def test_says_so_and_runs_quick_on_the_sample(self, tmp_path, capsys, monkeypatch):
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("AELIB_MNIST", raising=False)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

        def no_network():
            raise OSError("no network")

        monkeypatch.setattr("aelib.data._load_keras", no_network)
        assert cli.main(["figures", "--only", "k_auto0_gen", "--cache", str(tmp_path / "c")]) == 0
        out = capsys.readouterr().out
        notices = [l for l in out.splitlines() if l.startswith("no full MNIST found")]
        assert len(notices) == 1 and "embedded sample" in notices[0]
        assert (tmp_path / "assets-quick" / "k_auto0_gen.png").is_file()
        assert not (tmp_path / "assets").exists()  # the full-fidelity folder is untouched


class TestInterrupt:
    def test_ctrl_c_during_training_leaves_no_partial_file_and_the_cache_carries_on(self, tmp_path):
        out, cache = tmp_path / "out", tmp_path / "cache"

        def progress(message):  # Ctrl-C arrives while the conv model trains
            if message.startswith("conv autoencoder: epoch 1/"):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            regenerate(out, data=aelib.load_mnist(source="sample"), quick=True, cache_dir=cache,
                       progress=progress)
        written = sorted(p.name for p in out.iterdir())
        assert written and not any(".tmp" in n or n.startswith(".") for n in written)
        for name in written:  # every file that is there is whole
            (aelib.read_gif if name.endswith(".gif") else iio.imread)(out / name)
        assert "k_auto0_gen.png" in written and "k_auto_conv1_rec.gif" not in written
        assert sorted(p.name.split("-")[0] for p in cache.glob("*.json")) == ["dense"]
        assert not any(".tmp" in p.name for p in cache.iterdir())
        # the dense model finished before the interrupt: the next run takes it from the cache
        again = run_cli("figures", "--quick", "--only", "k_auto0_gen", "--out", str(out),
                        "--cache", str(cache), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "dense autoencoder: from the cache" in again.stdout

"""GIFs: frames written and read back, and interpolation between codings."""

from __future__ import annotations

import numpy as np
import pytest

import aelib


class TestGif:
    def test_round_trip_keeps_frames(self, sample, tmp_path):
        recorder = aelib.ReconstructionRecorder(sample.x_train[:8], per_epoch=3)
        ae = aelib.dense_autoencoder(seed=0)
        aelib.train(ae, sample.x_train[:1200], epochs=2, batch_size=200, snapshots=recorder,
                    seed=0, verbose=0)
        path = tmp_path / "progress.gif"
        aelib.save_gif(recorder.frames, path, fps=5)
        back = aelib.read_gif(path)
        assert back.shape == (len(recorder.frames), 56, 224, 3)
        np.testing.assert_array_equal(back[..., 0], np.stack(recorder.frames))  # grey is lossless
        assert [p.name for p in tmp_path.iterdir()] == ["progress.gif"]  # no temp file left

    def test_failed_write_leaves_nothing(self, tmp_path, monkeypatch):
        def broken(*args, **kwargs):
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing

        monkeypatch.setattr("aelib.animation.iio.imwrite", broken)
        with pytest.raises(KeyboardInterrupt):
            aelib.save_gif([np.zeros((4, 4), np.uint8)] * 2, tmp_path / "x.gif")
        assert list(tmp_path.iterdir()) == []

"""`aelib report`: the article's claims measured for four models, quick mode on the sample."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import aelib
from aelib import cli, studies
from aelib.cache import MODELS, Run, TrainedModel
from aelib.metrics import digit_silhouette, generation_scores, knn_accuracy, ks_normality
from aelib.report import NOT_SCORED, REPORT_MODELS, compare, measure, measure_autoencoder
from aelib.vae import sampled_codings

from conftest import other_data_file, run_cli


@pytest.fixture(scope="module")
def quick_report(quick_run, tmp_path_factory):
    """`aelib report --quick` through the real command, on a copy of the figures' cache."""
    base = tmp_path_factory.mktemp("report")
    cache = base / "cache"
    shutil.copytree(quick_run[1], cache)  # the dense, conv and dense VAE models are there
    proc = run_cli("report", "--quick", "--out", str(base / "out"), "--cache", str(cache), cwd=base)
    assert proc.returncode == 0, proc.stderr
    return base / "out" / "report.md", cache, proc.stdout


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header starts with ``first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


class TestCommand:
    def test_writes_the_table_it_prints(self, quick_report):
        path, _, stdout = quick_report
        text = path.read_text()
        rows = table_rows(text, "model")
        assert [r[0] for r in rows] == [MODELS[k].label for k in REPORT_MODELS]
        for row in rows:
            assert f"| {' | '.join(row)} |" in stdout
        assert text.startswith("# The article's claims, measured")
        assert "Made by `python -m aelib report --quick` (seed 0) on the embedded MNIST sample" in text
        # the models come from the figure run's cache; the conv VAE and the classifier train here
        assert re.search(r"; total [\d.]+ s: training [\d.]*[1-9][\d.]* s, everything else [\d.]+ s \(\d+%\)\n", stdout)

    def test_reuses_cached_models_and_caches_the_classifier(self, quick_report):
        _, cache, stdout = quick_report
        for kind in ("dense", "conv", "dense_vae"):
            assert f"{MODELS[kind].label}: from the cache" in stdout
        assert f"conv VAE: epoch {MODELS['conv_vae'].quick_epochs}/" in stdout  # new: trained
        assert len(list(cache.glob("classifier-*.keras"))) == 1
        again = run_cli("report", "--quick", "--out", str(cache.parent / "again"),
                        "--cache", str(cache), cwd=cache.parent)
        assert again.returncode == 0, again.stderr
        assert "digit classifier: from the cache" in again.stdout and "epoch 1/" not in again.stdout
        assert (cache.parent / "again" / "report.md").read_text() == quick_report[0].read_text()

    def test_every_model_generates_1000_digits(self, quick_report):
        rows = table_rows(quick_report[0].read_text(), "model | 0")
        assert len(rows) == len(REPORT_MODELS)
        for row in rows:
            assert sum(int(c) for c in row[1:]) == 1000

    def test_the_classifier_accuracy_is_stated(self, quick_report):
        text = quick_report[0].read_text()
        accuracy = float(re.search(r"\(([\d.]+)% test accuracy\)", text).group(1))
        assert 80 < accuracy <= 100  # the sample: ~96%; full MNIST: >= 99% (slow test)


class TestBeyondTheArticle:
    """The denoising, one-class and codings tables (quick: sigma 0.4, digit 0, two sizes)."""

    def test_the_three_tables_are_written_and_printed(self, quick_report):
        text, stdout = quick_report[0].read_text(), quick_report[2]
        for heading in ("## Beyond the article: denoising",
                        "## Beyond the article: anomaly detection (one-class MNIST)",
                        "## Beyond the article: how many codings"):
            assert heading in text
        denoising = table_rows(text, "denoiser")
        assert [r[0] for r in denoising] == [
            "noisy input", "best classical filter (tuned on 100 training digits)",
            "plain dense autoencoder", "plain conv autoencoder", "dense denoising autoencoder",
            "conv denoising autoencoder"]
        assert re.fullmatch(r"0\.\d{4} \((median filter|Gaussian blur|total variation|"
                            r"non-local means).*\)", denoising[1][1])
        auc = table_rows(text, "model | 0 | mean")
        assert [r[0] for r in auc] == ["dense autoencoder", "conv autoencoder", "PCA, 16 components"]
        assert all(0 <= float(r[1]) <= 1 and r[2] == f"**{r[1]}**" for r in auc)
        assert [r[0] for r in table_rows(text, "model | threshold (mean + 1 std of training errors)")] == \
            [r[0] for r in auc]
        codings = table_rows(text, "model | 2 codings")
        assert [r[0] for r in codings] == ["dense autoencoder", "conv autoencoder", "PCA"]
        for row in denoising + auc + codings:
            assert f"| {' | '.join(row)} |" in stdout

    def test_the_numbers_are_the_studies(self, quick_report):
        run = Run(aelib.load_mnist(source="sample"), quick=True, cache_dir=quick_report[1])
        noisy = aelib.add_noise(run.data.x_test[:2000], 0.4, seed=0)
        conv = studies.denoiser(run, "conv", 0.4)
        expected = aelib.evaluate(conv, noisy, targets=run.data.x_test[:2000])
        row = next(r for r in table_rows(quick_report[0].read_text(), "denoiser")
                   if r[0] == "conv denoising autoencoder")
        assert row[1] == f"{expected:.4f}"


class TestMeasurements:
    """Each column is the metric of aelib.metrics applied to what the model gives."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, quick_report):
        return Run(aelib.load_mnist(source="sample"), quick=True, cache_dir=quick_report[1])

    @pytest.mark.parametrize("kind", ["dense", "dense_vae"])
    def test_columns_recomputed(self, run, kind):
        classifier, _ = run.digit_classifier()
        ae, data = run.model(kind).autoencoder, run.data
        row = measure_autoencoder("x", ae, data, classifier, seed=0)
        assert row.test_mse == pytest.approx(aelib.evaluate(ae, data.x_test))
        assert row.prior_sigma == (1.0 if kind.endswith("vae") else 0.33)
        expected = generation_scores(classifier.predict(ae.generate(1000, seed=0), verbose=0))
        assert row.generation.class_counts == expected.class_counts
        assert row.generation.mean_confidence == pytest.approx(expected.mean_confidence)
        assert row.generation.confident_share == pytest.approx(expected.confident_share)
        assert row.ks == pytest.approx(ks_normality(sampled_codings(ae, data.x_test, seed=0),
                                                    sigma=row.prior_sigma))
        test_codings = ae.encode(data.x_test)
        assert row.silhouette == pytest.approx(digit_silhouette(test_codings, data.y_test, digit=1))
        assert row.knn == pytest.approx(knn_accuracy(ae.encode(data.x_train), data.y_train,
                                                     test_codings, data.y_test, k=5))

    def test_a_vae_is_compared_with_its_sampled_codings(self, run):
        ae = run.model("dense_vae").autoencoder
        x = run.data.x_test[:500]
        sampled, means = sampled_codings(ae, x, seed=0), ae.encode(x)
        assert sampled.std() > means.std()  # the posterior's spread is added
        np.testing.assert_array_equal(sampled_codings(ae, x, seed=0), sampled)
        plain = run.model("dense").autoencoder
        np.testing.assert_array_equal(sampled_codings(plain, x), plain.encode(x))

    def test_models_of_your_own(self, run):
        classifier, accuracy = run.digit_classifier()
        ae = run.model("dense").autoencoder
        report = compare({"mine": ae}, run.data, classifier, accuracy, command="my notebook")
        assert [r.label for r in report.rows] == ["mine"]
        assert report.rows[0] == measure_autoencoder("mine", ae, run.data, classifier)
        assert "Made by `my notebook` (seed 0)" in report.markdown()
        with pytest.raises(TypeError, match=r"autoencoders\['mine'\] must be an aelib Autoencoder"):
            compare({"mine": ae.model}, run.data, classifier, accuracy)
        with pytest.raises(TypeError, match="autoencoders must be a non-empty mapping"):
            compare({}, run.data, classifier, accuracy)

    def test_unknown_model_kinds_are_refused_before_any_work(self, run, monkeypatch):
        monkeypatch.setattr(Run, "digit_classifier",
                            lambda run: pytest.fail("worked before checking kinds"))
        with pytest.raises(ValueError, match="kinds: unknown model 'gan'"):
            measure(run, kinds=("dense", "gan"))


class TestOtherData:
    """Data that is not MNIST (Fashion-MNIST, say): no digit classifier, its columns left out."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, tmp_path_factory):
        path = other_data_file(tmp_path_factory.mktemp("other") / "fashion.npz", 120, 60)
        run = Run(aelib.load_mnist(path))
        run.models["dense"] = TrainedModel(aelib.dense_autoencoder(seed=0), [], {})  # untrained
        return run

    def test_no_classifier_and_the_rest_measured(self, run, monkeypatch):
        monkeypatch.setattr(Run, "digit_classifier", lambda run: pytest.fail("classifier trained"))
        said = []
        monkeypatch.setattr(run, "progress", said.append)
        report = measure(run, kinds=("dense",))
        assert NOT_SCORED in said and not report.scored and report.rows[0].generation is None
        assert report.rows[0] == measure_autoencoder("dense autoencoder",
                                                     run.model("dense").autoencoder, run.data, None)
        assert table_rows(report.table(), "model")[0][:2] == [
            "dense autoencoder", f"{aelib.evaluate(run.model('dense').autoencoder, run.data.x_test):.4f}"]
        text = report.markdown()
        assert "classifier confidence" not in text and "Digits among" not in text
        assert ("on fashion (120 train, of which the autoencoders fit 110 and hold out 10 for "
                "validation / 60 test) with aelib") in text
        assert "No digit classifier: the data is not MNIST" in text
        with pytest.raises(ValueError, match="digit_table: this report has no digit classifier"):
            report.digit_table()

    def test_the_classifier_comes_with_its_accuracy(self, run):
        ae = run.model("dense").autoencoder
        with pytest.raises(ValueError, match="give both or neither, got NoneType None and float 0.9"):
            compare({"mine": ae}, run.data, None, 0.9)


class TestErrors:
    @pytest.mark.parametrize("args, message", [
        (["--data", "{tmp}/missing.npz"], "--data: no file at "),
        (["--out", "{tmp}/a_file/out"], "--out: "),
    ])
    def test_exit_2_and_nothing_written(self, args, message, tmp_path, capsys, monkeypatch):
        monkeypatch.chdir(tmp_path)
        (tmp_path / "a_file").write_text("a file, not a folder")
        before = sorted(p.name for p in tmp_path.iterdir())
        code = cli.main(["report", *[a.format(tmp=tmp_path) for a in args]])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == before


class TestPublished:
    """The committed report (assets/report.md, full MNIST) and the README's copy of its table."""

    ROOT = Path(__file__).resolve().parents[1]

    def test_the_readme_shows_the_committed_table(self):
        report = (self.ROOT / "assets" / "report.md").read_text()
        readme = (self.ROOT / "README.md").read_text()
        copied = readme.split("<!-- report:start -->\n", 1)[1].split("<!-- report:end -->", 1)[0]
        table = "\n".join(l for l in report.split("\n\n")[2].splitlines())  # the first table
        assert table.startswith("| model | test MSE |")
        assert copied.strip() == table.strip()

    def test_it_has_the_full_tables_beyond_the_article(self):
        report = (self.ROOT / "assets" / "report.md").read_text()
        assert "| denoiser | sigma = 0.2 | sigma = 0.4 | sigma = 0.6 |" in report
        assert "| model | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | mean |" in report
        assert "| model | 2 codings | 4 codings | 8 codings | 16 codings | 32 codings | 64 codings |" in report

    def test_it_was_made_on_full_mnist_with_every_model(self):
        report = (self.ROOT / "assets" / "report.md").read_text()
        assert ("on full MNIST (60,000 train, of which the autoencoders fit 55,000 and hold out "
                "5,000 for validation / 10,000 test)") in report
        assert [r[0] for r in table_rows(report, "model")] == [MODELS[k].label for k in REPORT_MODELS]
        accuracy = float(re.search(r"\(([\d.]+)% test accuracy\)", report).group(1))
        assert accuracy >= 99.0  # the bar for the classifier on full MNIST

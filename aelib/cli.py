"""Command line: ``python -m aelib figures`` and ``python -m aelib report``.

``figures`` regenerates the article's figures into ``assets/``; ``report``
measures the article's claims into ``assets/report.md``. Both share the
trained-model cache. Data other than MNIST (``--data fashion-mnist.npz``) goes
into a folder of its own, ``assets-fashion-mnist/``, never into ``assets/``.
Progress goes to stdout, one line per step; errors in the arguments are one
line on stderr and exit code 2, before anything is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .data import ENV_VAR, keras_cache_path, load_mnist
from .devices import backend_name, backend_version, cpu_class

EXIT_USAGE = 2
#: the article's figures and report, made on MNIST; other data never writes here
ARTICLE_OUT = Path("assets")
QUICK_OUT = "assets-quick"
#: where docs/benchmarks.md measured a backend faster than aelib's TensorFlow default
#: for one of the article's models, by CPU class: said after a figure run
SHORT_ON_TENSORFLOW = {
    cls: (f"speed on this CPU class ({name}): the dense model trained faster under "
          "KERAS_BACKEND=jax in docs/benchmarks.md's runs; the conv model, most of a full "
          "run's training, trains fastest on TensorFlow, aelib's default")
    for cls, name in (("avx512", "AVX-512 without AMX"), ("avx2", "AVX2"))}


class _Usage(Exception):
    """A bad argument: reported in one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aelib", description="aelib: autoencoders on MNIST")
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate the article's figures", description=(
        "Regenerate every figure of 'Intro to Autoencoders' (or those named)."))
    fig.add_argument("--only", nargs="+", metavar="NAME",
                     help="figure names, file names or numbers (see --list)")
    _common_arguments(fig)
    fig.add_argument("--list", action="store_true", help="list the figures and exit")
    rep = sub.add_parser("report", help="measure the article's claims (writes report.md)",
                         description="Measure test MSE, generated digits, normality and separation "
                         "of the codings for the dense and conv autoencoders and VAEs; print the "
                         "table and write it as report.md.")
    _common_arguments(rep)
    return parser


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default: {ARTICLE_OUT}, {QUICK_OUT} with --quick, "
                        f"{ARTICLE_OUT}-NAME for data NAME.npz other than MNIST)")
    parser.add_argument("--seed", type=int, default=0,
                        help="one seed for the whole run (default 0)")
    parser.add_argument("--data", type=Path, default=None,
                        help="an .npz in MNIST's layout: the full MNIST, or other data such as "
                        "Fashion-MNIST (default: $AELIB_MNIST, then the Keras cache/download)")
    parser.add_argument("--quick", action="store_true",
                        help=f"embedded sample, a few epochs; writes to {QUICK_OUT}/ by default")
    parser.add_argument("--retrain", action="store_true", help="ignore cached models")
    parser.add_argument("--cache", type=Path, default=Path(".aelib-cache"),
                        help="where trained models are kept (default .aelib-cache)")


def _check_out(out: Path) -> None:
    """Refuse an output folder that cannot be created or written, creating nothing."""
    probe = out
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise _Usage(f"--out: {str(probe)!r} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _Usage(f"--out: {str(out)!r} is not writable")


#: the least data ``figures`` and ``report`` train and draw on: five batches of the
#: dense models' 200 images, and room for the interpolation GIFs' 105 test images
MIN_TRAIN_IMAGES = 1000
MIN_TEST_IMAGES = 200


def _check_size(data, what: str) -> None:
    """Refuse data too small for the article's models, or without every digit."""
    for split, need in (("train", MIN_TRAIN_IMAGES), ("test", MIN_TEST_IMAGES)):
        n = len(getattr(data, f"x_{split}"))
        if n < need:
            raise _Usage(f"{what}: x_{split} holds {n:,} images; the figures and the report "
                         f"need at least {MIN_TRAIN_IMAGES:,} training and {MIN_TEST_IMAGES:,} "
                         "test images")
        missing = sorted(set(range(10)) - set(np.unique(getattr(data, f"y_{split}")).tolist()))
        if missing:
            raise _Usage(f"{what}: y_{split} has no image of digit "
                         f"{', '.join(map(str, missing))}; the figures and the report need "
                         "all ten digits in both splits")


def _check_data(path: Path) -> None:
    if path.is_dir():
        raise _Usage(f"--data: {str(path)!r} is a folder, not an .npz file")
    if not path.is_file():
        raise _Usage(f"--data: no file at {str(path)!r}")


def _load_data(args, say):
    """The data set, checked in full; switches ``args`` to quick mode without a full MNIST."""
    if args.quick:
        return load_mnist(source="sample")
    env = os.environ.get(ENV_VAR)
    if args.data is not None or env:
        what, path = ("--data", args.data) if args.data is not None else (f"${ENV_VAR}", Path(env))
        try:
            data = load_mnist(path)
        except (OSError, ValueError, TypeError, MemoryError) as err:
            # load_mnist's messages start with its argument's name, "path: "
            message = (str(err) or type(err).__name__).removeprefix("path: ")
            if str(path) not in message:
                message = f"{str(path)!r}: {message}"
            raise _Usage(f"{what}: {message}") from err
        _check_size(data, f"{what}: {str(path)!r}")
        return data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = load_mnist(source="keras")
    except Exception as err:  # no cache and no network
        say(f"no full MNIST found (no --data, no ${ENV_VAR}, no Keras cache, "
            f"download failed: {type(err).__name__}): quick run on the embedded sample "
            f"into {QUICK_OUT}/")
        args.quick = True
        return load_mnist(source="sample")
    _check_size(data, f"Keras's MNIST ({keras_cache_path()})")
    return data


def _table(result, total: float) -> str:
    from .cache import MODELS

    rows = [("figure", "file", "seconds")] + [
        (r["figure"], os.path.relpath(r["file"]), f"{r['seconds']:.1f}") for r in result.rows
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for kind, info in result.models.items():
        how = "from cache" if info.get("cached") else f"trained in {info['train_seconds']:.0f} s"
        lines.append(f"{MODELS[kind].label}: test MSE {info['test_mse']:.4f} "
                     f"({info['config']['epochs']} epochs, {info['config']['dtype_policy']}, {how})")
    lines.append(f"data: {result.data_source}; backend: {backend_version()}; "
                 + _split_time(total, result.training_seconds))
    if backend_name() == "tensorflow" and (short := SHORT_ON_TENSORFLOW.get(cpu_class())):
        lines.append(short)
    return "\n".join(lines)


def _split_time(total: float, training: float) -> str:
    """How much of a command's wall time went into training, and how much into the rest."""
    rest = max(total - training, 0.0)
    return (f"total {total:.1f} s: training {training:.1f} s, everything else {rest:.1f} s "
            f"({rest / total if total else 0:.0%})")


def figures(args, say) -> int:
    from .figures import FIGURES, regenerate, select

    if args.list:
        for spec in FIGURES.values():
            say(f"{spec.number:>6}  {spec.file:32}  {spec.caption}")
        return 0
    try:
        select(args.only)
    except ValueError as err:
        raise _Usage(f"--only: {err}") from None
    start = time.perf_counter()
    data, out, command = _prepare(args, say)
    result = regenerate(out, data=data, names=args.only, seed=args.seed, quick=args.quick,
                        cache_dir=args.cache, retrain=args.retrain, progress=say,
                        command=command)
    say(_table(result, time.perf_counter() - start))
    return 0


def _out_folder(args, data) -> Path:
    """``--out``, else ``assets/`` (MNIST), ``assets-quick/`` or ``assets-NAME/`` (other
    data); refuses ``assets/`` for data that is not MNIST, the article's figures' folder."""
    if data.is_mnist:
        return args.out or (Path(QUICK_OUT) if args.quick else ARTICLE_OUT)
    own = Path(f"{ARTICLE_OUT}-{data.name}")
    article = {ARTICLE_OUT.resolve(), Path(__file__).resolve().parents[1] / ARTICLE_OUT}
    if args.out is not None and args.out.resolve() in article:
        raise _Usage(f"--out: {str(args.out)!r} holds the article's MNIST figures, and "
                     f"{data.source.removeprefix('file:')!r} is not MNIST: leave out --out to "
                     f"write into {own}/, or name another folder")
    return args.out or own


def _prepare(args, say):
    """Check --data and --out, load the data; return it, the output folder and the command."""
    if args.data is not None and args.quick:
        raise _Usage(f"--data: {str(args.data)!r} with --quick, which runs on the embedded MNIST "
                     "sample: leave out --quick to train on the file, or --data")
    if args.data is not None:
        _check_data(args.data)
    if args.out is not None:
        _check_out(args.out)
    data = _load_data(args, say)
    out = _out_folder(args, data)
    _check_out(out)
    say(f"data: {data.source} ({len(data.x_train)} train, the autoencoders fit "
        f"{len(data.split_validation()[0])} / {len(data.x_test)} test"
        f"{'' if data.is_mnist else ', not MNIST'}); "
        f"{'quick' if args.quick else 'full'} run, seed {args.seed}, writing to {out}/; "
        f"backend: {backend_version()}")
    command = f"python -m aelib {args.command}" + (" --quick" if args.quick else "") + (
        f" --seed {args.seed}" if args.seed else "") + (
        "" if data.is_mnist else f" --data {shlex.quote(data.source.removeprefix('file:'))}")
    return data, out, command


def report(args, say) -> int:
    from .cache import MODELS, Run
    from .report import NOT_SCORED, measure, measure_beyond, write_report

    start = time.perf_counter()
    data, out, command = _prepare(args, say)
    run = Run(data, seed=args.seed, quick=args.quick, cache_dir=args.cache, retrain=args.retrain,
              progress=say)
    result = measure(run, command=command)
    result = dataclasses.replace(result, beyond=measure_beyond(run))
    path = write_report(result, out / "report.md")
    beyond = result.beyond
    for title, table in (("", result.table()), ("", result.digit_table() if result.scored else ""),
                         ("denoising: MSE against the clean digits", beyond.denoising_table()),
                         ("", beyond.denoising_goal()),
                         (f"one-class {data.name}: ROC AUC per normal digit", beyond.auc_table()),
                         ("", beyond.anomaly_goal()),
                         (f"mean + 1 std threshold on digit {beyond.anomaly.digit}",
                          beyond.threshold_table()),
                         ("how many codings: test MSE", beyond.codings_table())):
        if not table:
            continue
        say("")
        if title:
            say(title + ":")
        say(table)
    say(f"digit classifier: {result.classifier_accuracy:.2%} test accuracy" if result.scored
        else NOT_SCORED)
    say(f"backend: {backend_version()}; dtype policies: " + ", ".join(
        f"{MODELS[k].label} {m.info['config']['dtype_policy']}" for k, m in run.models.items()))
    say(f"wrote {path}; " + _split_time(time.perf_counter() - start, run.training_seconds))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``aelib`` and ``python -m aelib``; returns the exit code."""
    args = _parser().parse_args(argv)
    say = functools.partial(print, flush=True)
    try:
        return {"figures": figures, "report": report}[args.command](args, say)
    except _Usage as err:
        print(f"aelib: error: {' '.join(str(err).split())}", file=sys.stderr)  # one line
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("aelib: interrupted; finished models stay cached, no partial file was written",
              file=sys.stderr)
        return 130

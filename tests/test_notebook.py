"""The tutorial notebook runs top to bottom in quick mode, cleanly.

The notebook is executed once for this module with nbclient and
``AELIB_QUICK=1`` (the embedded MNIST sample, 2 epochs per model), from a copy
in a temporary folder, so nothing is written into the repository; then, in the
same kernel, every exercise's worked solution (from the collapsed markdown),
after a preamble that trains them on 1,000 digits for one epoch. The same output checks also run on the notebook as committed,
whose outputs come from a full run.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
import zmq  # noqa: E402  (pyzmq comes with nbclient's jupyter_client)
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from traitlets import default  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "autoencoders.ipynb"
CELL_TIMEOUT = 300  # seconds per cell; the slowest quick-mode cell takes a few seconds
WARNING = re.compile(r"Warning|warning:")
ANSI = re.compile(r"\x1b\[")  # a terminal's colour and style codes
MAX_NOTEBOOK_BYTES = 2_000_000
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
#: TensorFlow's own start-up log (absl, from C++ on file descriptor 2 while it
#: loads); aelib leaves it alone, so a kernel on that backend shows it once
TF_STARTUP_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:. ]+\d+ [\w.]+:\d+\] .*"
    r"|To enable the following instructions: .*)\n?", re.M)
#: home and temporary folders, interpreter installs: paths of whatever machine ran it
MACHINE_PATH = re.compile(r"/home/|/Users/|/root/|/tmp/|site-packages|[A-Za-z]:\\")


class SamePythonKernelManager(AsyncKernelManager):
    """Starts the "python3" kernel with ipykernel in *this* Python.

    Only ipykernel's built-in kernelspec is consulted (``sys.executable -m
    ipykernel_launcher``), so the test needs no installed kernelspec and
    never picks up one that points at another interpreter without aelib.
    """

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self):
        return KernelSpecManager(kernel_dirs=[])

    if "transport_encryption" in AsyncKernelManager.class_trait_names():  # jupyter_client >= 8.10

        @default("transport_encryption")
        def _transport_encryption_default(self):
            # ipykernel >= 7.4 warns on stderr (into the first cell's outputs) when it
            # runs over TCP without CurveZMQ keys: provision them where pyzmq can
            return "auto" if zmq.has("curve") else "disabled"


def _texts(output) -> list[str]:
    """The text of one output: stream text, error text, text/* and JSON parts of displays."""
    if output.output_type == "stream":
        return [output.text]
    if output.output_type == "error":
        return [output.ename, output.evalue, *output.traceback]
    texts = []
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            text = "".join(value) if isinstance(value, list) else str(value)
            texts.append(DATA_URI.sub("data:...", text))  # embedded images are not text
    return texts


def _machine_paths() -> list[str]:
    """Absolute paths of this machine that must not leak into outputs."""
    paths = {str(ROOT), str(ROOT.parent), os.path.expanduser("~"), tempfile.gettempdir(),
             sys.prefix, sys.exec_prefix}
    return sorted(p for p in paths if p not in ("", "/") and len(p) > 4)


def check_outputs(nb) -> None:
    """No errors, no stderr, no warnings, no machine paths, no figure shown twice."""
    images = []
    paths = _machine_paths()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index} ({cell.source.splitlines()[0] if cell.source else ''!r})"
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{where} raised {output.ename}: {output.evalue}"
            if output.output_type == "stream" and output.name == "stderr":
                rest = TF_STARTUP_LOG.sub("", output.text)
                assert not rest.strip(), f"{where} wrote to stderr:\n{rest}"
                continue
            for text in _texts(output):
                assert not ANSI.search(text), f"{where} shows terminal escape codes: {text[:200]!r}"
                match = WARNING.search(text)
                assert match is None, f"{where} shows a warning: ...{text[max(0, match.start() - 200):match.end() + 200]}"
                for path in paths:
                    assert path not in text, f"{where} shows the machine path {path!r}"
                match = MACHINE_PATH.search(text)
                assert match is None, f"{where} shows a machine path: ...{text[max(0, match.start() - 80):match.end() + 80]}"
            for mime, value in output.get("data", {}).items():
                if mime.startswith("image/"):
                    images.append((where, base64.b64decode("".join(value))))
    seen = {}
    for where, image in images:
        assert image not in seen, f"{where} shows the same image as {seen[image]} (a figure shown twice?)"
        seen[image] = where


SOLUTION = re.compile(r"<details><summary>Solution</summary>\s*```python\n(.*?)```", re.S)
EXERCISE = re.compile(r"^(\d+)\. \*\*(.+?)\*\*", re.M)


#: run before the solutions in the test: fewer training digits and one epoch per model
#: (the solutions take their epochs from these names), so that all of them take seconds
SOLUTIONS_PREAMBLE = """
x_fit = x_fit[:1000]
DENSE_EPOCHS = CONV_EPOCHS = VAE_EPOCHS = PLATEAU_EPOCHS = 1
"""


def worked_solutions(nb) -> list[tuple[str, str]]:
    """``(exercise title, code)`` of every worked solution in the exercises' cells."""
    import textwrap

    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "### Exercises" not in cell.source:
            continue
        exercises = cell.source.split("### Exercises", 1)[1]
        for item in re.split(r"\n(?=\d+\. \*\*)", exercises)[1:]:
            title = EXERCISE.match(item)
            for block in SOLUTION.findall(item):
                found.append((f"{title.group(1)}. {title.group(2)}", textwrap.dedent(block)))
    return found


@pytest.fixture(scope="module")
def executed():
    """The notebook executed in quick mode in a temporary folder (the kernel's cwd)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with tempfile.TemporaryDirectory(prefix="aelib-nbtest-") as work:
        shutil.copy(NOTEBOOK, Path(work) / NOTEBOOK.name)
        env = dict(os.environ, AELIB_QUICK="1", TF_CPP_MIN_LOG_LEVEL="3", PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("MPLBACKEND", None)  # the kernel's own inline backend, whatever pytest uses
        # under pytest ipykernel stops forwarding what C/C++ code writes to file
        # descriptors 1 and 2; a reader's kernel forwards it, so this one must too
        env.pop("PYTEST_CURRENT_TEST", None)
        client = nbclient.NotebookClient(
            nb,
            kernel_name="python3",
            kernel_manager_class=SamePythonKernelManager,
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": work}},
        )
        client.reset_execution_trackers()
        with client.setup_kernel(env=env):
            info = client.wait_for_reply(client.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(nb.cells):  # raises CellExecutionError on a failing cell
                client.execute_cell(cell, index)
            # then every exercise's worked solution, in the same kernel: they use the
            # notebook's names, and a preamble shrinks their training to seconds
            def run_extra(source):
                cell = nbformat.v4.new_code_cell(source)
                nb.cells.append(cell)  # where execute_cell puts its outputs
                try:
                    client.execute_cell(cell, len(nb.cells) - 1)
                    return cell, None
                except nbclient.exceptions.CellExecutionError as exc:
                    return cell, str(exc)
                finally:
                    nb.cells.pop()

            _, error = run_extra(SOLUTIONS_PREAMBLE)
            assert error is None, error
            solutions = [(title, *run_extra(source)) for title, source in worked_solutions(nb)]
        left = sorted(p.name for p in Path(work).iterdir())
    return nb, left, solutions


def test_notebook_has_one_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', got {len(tagged)}"
    cell = tagged[0]
    assert cell.cell_type == "code"
    assert 'os.environ.get("AELIB_QUICK"' in cell.source
    assert re.search(r"^SEED = 0\b", cell.source, re.M)
    assert nb.cells.index(cell) < 5, "the parameters cell belongs near the top"


def test_committed_outputs_are_clean():
    """The notebook as committed (with a full run's outputs, or none) is clean too."""
    check_outputs(nbformat.read(NOTEBOOK, as_version=4))


def test_committed_notebook_is_small():
    size = NOTEBOOK.stat().st_size
    assert size <= MAX_NOTEBOOK_BYTES, f"autoencoders.ipynb is {size:,} bytes, more than {MAX_NOTEBOOK_BYTES:,}"


def _images(nb) -> list[tuple[int, bytes]]:
    """``(cell index, bytes)`` of every image output."""
    return [(i, base64.b64decode("".join(o["data"]["image/png"])))
            for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def check_pictures(nb) -> None:
    """Figures as PNG outputs, animations as GIFs inside image outputs (not HTML)."""
    images = _images(nb)
    pictures = [i for i, data in images if data.startswith(b"\x89PNG")]
    gifs = [i for i, data in images if data.startswith(b"GIF8")]
    assert len(pictures) + len(gifs) == len(images), "an image output is neither PNG nor GIF"
    assert len(pictures) >= 15, f"expected every figure inline, got {len(pictures)} PNG outputs"
    assert len(gifs) == 4, f"expected 4 animations inline, got {len(gifs)}"
    for index in set(pictures + gifs):  # each cell draws one figure at most: none shown twice
        shown = (pictures + gifs).count(index)
        assert shown <= 1, f"cell {index} shows {shown} images"
    html = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
            if "<img" in "".join(o.get("data", {}).get("text/html", ""))]
    assert not html, f"cells {html} show images as HTML, which some viewers strip"


def test_committed_claims_table_is_the_reports():
    """Section 11's table (a full run of the notebook) and assets/report.md (a full run of
    `aelib report`) train the same models with the same seed: their numbers agree."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tables = ["".join(o["data"]["text/markdown"]) for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})
              and "".join(o["data"]["text/markdown"]).startswith("| model | test MSE |")]
    if not tables:
        pytest.skip("the committed notebook has no outputs")
    report = (ROOT / "assets" / "report.md").read_text().split("\n\n")[2]
    assert tables[0].strip() == report.strip()


def test_committed_pictures_are_image_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        check_pictures(nb)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
def test_notebook_runs_in_quick_mode(executed):
    nb, left, _ = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"code cells {not_run} did not run"
    assert left == [NOTEBOOK.name], f"the notebook left files in its folder: {left}"
    text = "".join(t for c in code for o in c.outputs for t in _texts(o))
    assert "quick mode" in text and "the MNIST sample inside aelib" in text
    # the kernel ran on the backend this test process runs on (CI sets KERAS_BACKEND)
    import keras

    setup = next(c for c in code if 'os.environ.setdefault("KERAS_BACKEND"' in c.source)
    assert f"backend: {keras.backend.backend()}" in "".join(_texts(setup.outputs[-1]))


@pytest.mark.backends  # also run under JAX and PyTorch in CI
def test_quick_run_outputs_are_clean(executed):
    nb, _, _ = executed
    check_outputs(nb)
    check_pictures(nb)


def test_worked_solutions_are_python():
    """The exercises' worked solutions sit in markdown (inside <details>, so Run All
    skips them); each ```python block there must at least be valid Python."""
    import ast

    nb = nbformat.read(NOTEBOOK, as_version=4)
    blocks = [block for c in nb.cells if c.cell_type == "markdown"
              for block in re.findall(r"```python\n(.*?)```", c.source, re.S)]
    assert blocks, "expected at least one worked solution in a ```python block"
    for block in blocks:
        lines = block.splitlines()
        indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
        ast.parse("\n".join(line[indent:] for line in lines))


def test_every_exercise_has_a_hint_and_a_solution():
    """Each numbered exercise says how to start (*Hint:*) and has a worked solution,
    collapsed in markdown so that Run All does not run it."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c.source.split("### Exercises", 1)[1] for c in nb.cells
             if c.cell_type == "markdown" and "### Exercises" in c.source]
    assert len(cells) >= 4
    items = [item for c in cells for item in re.split(r"\n(?=\d+\. \*\*)", c)[1:]]
    assert len(items) >= 10
    for item in items:
        title = EXERCISE.match(item).group(2)
        assert "*Hint:*" in item, f"exercise {title!r} has no hint"
        assert len(SOLUTION.findall(item)) == 1, f"exercise {title!r} has no worked solution"
    assert len(worked_solutions(nb)) == len(items)


@pytest.mark.backends  # also run under JAX and PyTorch in CI
def test_exercise_solutions_run(executed):
    """Every worked solution runs, in quick mode, after the notebook, in its kernel,
    without an error, a warning or stderr."""
    _, _, solutions = executed
    assert solutions, "no worked solutions found"
    failed = {title: error for title, _, error in solutions if error is not None}
    assert not failed, "solutions failed:\n" + "\n\n".join(f"{t}:\n{e}" for t, e in failed.items())
    check = nbformat.v4.new_notebook(cells=[cell for _, cell, _ in solutions])
    check_outputs(check)
    for title, cell, _ in solutions:
        assert cell.outputs, f"the solution to {title!r} shows nothing"

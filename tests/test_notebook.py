"""The tutorial notebook runs top to bottom in quick mode, cleanly.

The notebook is executed once for this module (about 25 s on 2 cores) with
nbclient and ``AELIB_QUICK=1`` (the embedded MNIST sample, 2 epochs per
model), from a copy in a temporary folder, so nothing is written into the
repository. The same output checks also run on the notebook as committed,
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

pytestmark = pytest.mark.backends  # also run under JAX and PyTorch in CI

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "autoencoders.ipynb"
CELL_TIMEOUT = 300  # seconds per cell; the slowest quick-mode cell takes a few seconds
WARNING = re.compile(r"Warning|warning:")
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
        client.execute(env=env)  # raises CellExecutionError on the first failing cell
        left = sorted(p.name for p in Path(work).iterdir())
    return nb, left


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


def test_notebook_runs_in_quick_mode(executed):
    nb, left = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"code cells {not_run} did not run"
    assert left == [NOTEBOOK.name], f"the notebook left files in its folder: {left}"
    text = "".join(t for c in code for o in c.outputs for t in _texts(o))
    assert "quick mode" in text and "the MNIST sample inside aelib" in text
    # the kernel ran on the backend this test process runs on (CI sets KERAS_BACKEND)
    import keras

    assert f"backend: {keras.backend.backend()}" in "".join(_texts(code[0].outputs[-1]))


def test_quick_run_outputs_are_clean(executed):
    nb, _ = executed
    check_outputs(nb)
    pictures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if "image/png" in o.get("data", {}))
    gifs = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "data:image/gif;base64," in "".join(o.get("data", {}).get("text/html", "")))
    assert pictures >= 15, f"expected every figure inline, got {pictures} PNG outputs"
    for index, cell in enumerate(nb.cells):  # each cell draws one figure at most: none shown twice
        shown = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        assert shown <= 1, f"cell {index} shows {shown} images"
    assert gifs == 3, f"expected 3 animations inline, got {gifs}"

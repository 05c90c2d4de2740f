"""Stock Keras 3 on any backend: stock layers, imports, and the module layout.

The cross-backend tests run every installed Keras backend in fresh processes
(CI installs all three), so they run once, not again under each backend;
saved files across backends are tested in test_saving.py.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import aelib

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
HERE = keras.backend.backend()


def installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def python(code: str, backend: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python under ``backend``, from ``cwd`` (so that the
    repository's ``aelib`` is not on the path unless installed)."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


class TestStockLayers:
    def test_layers_are_the_articles_stock_keras_layers(self):
        stock = {"InputLayer", "Flatten", "Dense", "Reshape", "Conv2D", "MaxPooling2D",
                 "UpSampling2D", "Functional"}
        for ae in (aelib.dense_autoencoder(), aelib.conv_autoencoder()):
            for model in (ae.encoder, ae.decoder, ae.model):
                for layer in model.layers:
                    assert type(layer).__module__.startswith("keras."), layer
                    assert type(layer).__name__ in stock, layer
        conv = aelib.conv_autoencoder()
        assert [type(l).__name__ for l in conv.decoder.layers][-5:] == [
            "UpSampling2D", "Conv2D", "UpSampling2D", "Conv2D", "Conv2D"]


class TestImport:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_keeps_the_users_backend_and_imports_tensorflow_only_for_it(self, backend, tmp_path):
        """aelib and its lazily loaded modules (the command line, the figures, the
        report) run on the backend the user chose, and load TensorFlow only for it."""
        if not installed(backend):
            pytest.skip(f"{backend} is not installed")
        proc = python(f"import sys; sys.path.insert(0, {str(ROOT)!r}); import aelib, keras\n"
                      "import aelib.cli, aelib.figures, aelib.report\n"
                      "print(keras.backend.backend(), 'tensorflow' in sys.modules)",
                      backend, tmp_path)
        assert proc.stdout.split() == [backend, str(backend == "tensorflow")]

    def test_leaves_file_descriptors_alone_and_switches_onednn_on(self, tmp_path, monkeypatch):
        """Imported first, where nobody chose, aelib asks TensorFlow for oneDNN's kernels
        (on x86-64; tests/test_devices.py checks when it must not)."""
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)  # python() copies os.environ
        code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r})\n"
                "def refuse(*args): raise AssertionError('aelib touched a file descriptor')\n"
                "os.dup = os.dup2 = refuse\n"
                "import aelib\nprint('ok', os.environ.get('TF_ENABLE_ONEDNN_OPTS'))")
        x86 = platform.machine().lower() in ("x86_64", "amd64")
        assert python(code, HERE, tmp_path).stdout.split() == ["ok", "1" if x86 else "None"]


def _module_imports(path: Path) -> tuple[set[str], set[str]]:
    """aelib modules ``path`` imports at module level, and the outside packages it does."""
    tree = ast.parse(path.read_text())
    inside, outside = set(), set()
    for node in tree.body:  # module level only: imports inside functions load when used
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                inside.add(node.module.split(".")[0])
            else:
                inside.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(a.name.split(".")[0] for a in node.names)
    return inside, outside


MODULES = {p.stem: _module_imports(p) for p in (ROOT / "aelib").glob("*.py")}


class TestModuleLayout:
    def test_no_import_cycles(self):
        graph = {name: {m for m in inside if m in MODULES} for name, (inside, _) in MODULES.items()}
        graph.pop("__init__")  # the package imports its modules; none imports the package
        for name, deps in graph.items():
            assert "__init__" not in deps and "aelib" not in deps, name

        def visit(name, path):
            assert name not in path, " -> ".join(path + [name])
            for dep in graph.get(name, ()):
                visit(dep, path + [name])

        for name in graph:
            visit(name, [])

    def test_heavy_packages_load_only_where_a_function_needs_them(self):
        for name, (_, outside) in MODULES.items():
            assert not outside & {"sklearn", "scipy", "skimage", "IPython", "tensorflow", "jax",
                                   "torch"}, name

    def test_no_private_names_cross_modules(self):
        for path in (ROOT / "aelib").glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 1:
                    private = [a.name for a in node.names if a.name.startswith("_")
                               and a.name != "__version__"]
                    assert not private, f"{path.name} imports {private} from .{node.module}"

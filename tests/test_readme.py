"""The README's notebook example runs exactly as printed, in a fresh Jupyter kernel."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from test_notebook import SamePythonKernelManager, check_outputs  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text()
    section = text[text.index("## Use aelib in your own notebook"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_example_is_short():
    assert len(readme_example().strip().splitlines()) <= 10


def test_example_runs_in_a_fresh_kernel_and_shows_its_figure(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(readme_example())])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("MPLBACKEND", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                            kernel_manager_class=SamePythonKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    outputs = nb.cells[0].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert re.search(r"test MSE: 0\.0\d{3}", printed)
    # no %matplotlib magic needed: the Figure shows as a picture, not as "<Figure ...>"
    assert any("image/png" in o.get("data", {}) for o in outputs)
    check_outputs(nb)

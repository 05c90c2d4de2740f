"""Helpers shared by the benchmark scripts: the machine, and Markdown sections."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from aelib.report import markdown_table  # noqa: F401  (the benchmarks use the report's tables)

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine(backends: list[str] | None = None) -> str:
    """One line describing the CPU, its relevant flags, cores and library versions.

    ``backends``: ``NAME VERSION`` of each backend the numbers come from (default:
    the backend Keras uses in this process, :func:`aelib.devices.backend_version`).
    Backend-neutral: it imports only Keras and what Keras already imported.
    """
    import keras

    from aelib.devices import RELEVANT_FLAGS, backend_version, cpu_flags, cpu_model

    present = cpu_flags()
    flags = " ".join(flag for flag in RELEVANT_FLAGS if flag in present) or "none of " + " ".join(RELEVANT_FLAGS)
    label = "backends" if backends and len(backends) > 1 else "backend"
    return (
        f"{cpu_model()} (flags: {flags}), {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"Keras {keras.__version__}, {label} {', '.join(backends or [backend_version()])}"
    )


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Replace the ``name`` section of docs/benchmarks.md (or append it)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)



"""Helpers shared by the benchmark scripts: the machine, and Markdown sections."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from aelib.report import markdown_table  # noqa: F401  (the benchmarks use the report's tables)

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine() -> str:
    """One line describing the CPU, cores and library versions."""
    import keras
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = Path("/proc/cpuinfo").read_text()
        if "avx512_bf16" in flags:
            cpu += " (AVX-512, avx512_bf16)"
        elif "avx512f" in flags:
            cpu += " (AVX-512)"
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
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



"""TensorFlow's oneDNN CPU kernels, switched on where TensorFlow leaves them off.

TensorFlow turns oneDNN on by default only on x86 CPUs with AVX-512 VNNI or
bfloat16, or AMX. On an AVX2 CPU its default kernels train the article's conv
model at a fraction of oneDNN's rate (docs/benchmarks.md, "oneDNN on AVX2").
TensorFlow reads the switch once, when it loads, so aelib sets it as it is
imported: before TensorFlow, on x86-64, and only where the user has not set
``TF_ENABLE_ONEDNN_OPTS`` (``0`` keeps TensorFlow's own kernels).
"""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["enable_onednn"]


def enable_onednn() -> bool:
    """Set ``TF_ENABLE_ONEDNN_OPTS=1`` where it can still act and nobody chose;
    return whether it was set."""
    if "TF_ENABLE_ONEDNN_OPTS" in os.environ or "tensorflow" in sys.modules:
        return False
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False  # elsewhere TensorFlow's own choice stands
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return True

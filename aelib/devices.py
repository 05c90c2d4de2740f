"""What this machine and Keras backend compute on (the CPU's flags, bfloat16 support),
without importing a backend that Keras does not already use."""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import platform

import keras

__all__ = ["backend_name", "backend_version", "cpu_class", "cpu_model", "cpu_flags",
           "native_bfloat16"]

#: CPU flags that matter for the article's models: vector width and bfloat16 units
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def backend_name() -> str:
    """The Keras backend in use: ``"tensorflow"``, ``"jax"`` or ``"torch"``."""
    return keras.backend.backend()


def backend_version() -> str:
    """``NAME VERSION`` of the backend in use, e.g. ``"tensorflow 2.21.0"``."""
    name = backend_name()
    return f"{name} {importlib.import_module(name).__version__}"  # already imported by Keras


@functools.cache
def _cpuinfo() -> dict[str, str]:
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:  # not Linux
        return {}
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty where it cannot be read)."""
    return set(_cpuinfo().get("flags", "").split())


def _gpu_capability() -> tuple[int, int] | None:
    """Compute capability of the backend's first CUDA GPU, or None."""
    name = backend_name()
    with contextlib.suppress(Exception):  # a backend without GPU support: no GPU
        if name == "tensorflow":
            import tensorflow as tf

            for gpu in tf.config.list_physical_devices("GPU"):
                capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
                if capability:
                    return tuple(capability)
        elif name == "jax":
            import jax

            for device in jax.devices():
                if device.platform == "gpu" and getattr(device, "compute_capability", None):
                    return tuple(int(p) for p in str(device.compute_capability).split(".")[:2])
        elif name == "torch":
            import torch

            if torch.cuda.is_available():
                return tuple(torch.cuda.get_device_capability(0))
    return None


def _onednn_cap() -> str:
    """``ONEDNN_MAX_CPU_ISA`` (or its old name ``DNNL_MAX_CPU_ISA``), upper case; ``""``: none."""
    return (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()


def cpu_class() -> str:
    """The CPU class speed was measured per (docs/benchmarks.md): ``"amx"``,
    ``"avx512"`` (AVX-512 without AMX), ``"avx2"`` (also where
    ``ONEDNN_MAX_CPU_ISA`` caps oneDNN at AVX2), or ``"other"``."""
    flags = cpu_flags()
    if _onednn_cap().startswith("AVX2") or ("avx2" in flags and not flags & {"avx512f", "amx_tile"}):
        return "avx2"
    if "amx_tile" in flags:
        return "amx"
    return "avx512" if "avx512f" in flags else "other"


@functools.cache
def native_bfloat16() -> bool:
    """Whether the backend's device computes bfloat16 natively: its GPU, where it has
    one, of compute capability 8.0 or newer; else a CPU with avx512_bf16 or amx_bf16
    (unless ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below them). Asked once per process."""
    capability = _gpu_capability()
    if capability is not None:  # the model runs there, whatever the CPU has
        return capability >= (8, 0)
    cap = _onednn_cap()  # e.g. AVX2: oneDNN stays below the bfloat16 instructions
    capped = bool(cap) and cap != "ALL" and "BF16" not in cap and "AMX" not in cap
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}) and not capped

"""What aelib reads of the machine: the backend, the CPU, native bfloat16."""

from __future__ import annotations

import os
import platform
import sys

import keras
import pytest

from aelib import devices


def test_backend_name_and_version_are_kerass():
    assert devices.backend_name() == keras.backend.backend()
    name, version = devices.backend_version().split()
    assert name == devices.backend_name() and version[0].isdigit()


def test_cpu_model_and_flags_come_from_the_machine():
    assert isinstance(devices.cpu_model(), str) and devices.cpu_model()
    assert isinstance(devices.cpu_flags(), set)


def a_cpu(monkeypatch, flags: set[str], cap: str | None) -> None:
    """This machine as a CPU with ``flags``, oneDNN capped at ``cap`` (``None``: not capped)."""
    monkeypatch.setattr(devices, "cpu_flags", lambda: flags)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    if cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)


@pytest.mark.parametrize("flags, cap, expected", [
    ({"avx2", "avx512f", "avx512_bf16"}, None, True),
    ({"avx2", "amx_bf16", "amx_tile"}, None, True),
    ({"avx2", "fma"}, None, False),
    ({"avx2", "avx512_bf16", "amx_bf16"}, "AVX2", False),  # the AVX2 class, emulated
    ({"avx2", "avx512_bf16"}, "AVX512_CORE_BF16", True),
    ({"avx2", "avx512_bf16"}, "ALL", True),
])
def test_native_bfloat16_follows_the_flags_and_the_onednn_cap(monkeypatch, flags, cap, expected):
    a_cpu(monkeypatch, flags, cap)
    monkeypatch.setattr(devices, "_gpu_capability", lambda: None)
    devices.native_bfloat16.cache_clear()
    try:
        assert devices.native_bfloat16() is expected
    finally:
        devices.native_bfloat16.cache_clear()


def test_a_recent_gpu_computes_bfloat16(monkeypatch):
    monkeypatch.setattr(devices, "cpu_flags", lambda: set())
    monkeypatch.setattr(devices, "_gpu_capability", lambda: (8, 0))
    devices.native_bfloat16.cache_clear()
    try:
        assert devices.native_bfloat16() is True
    finally:
        devices.native_bfloat16.cache_clear()


def test_the_gpu_decides_where_the_backend_has_one(monkeypatch):
    a_cpu(monkeypatch, {"avx2", "avx512f", "avx512_bf16"}, None)
    monkeypatch.setattr(devices, "_gpu_capability", lambda: (7, 5))  # a T4: no native bfloat16
    devices.native_bfloat16.cache_clear()
    try:
        assert devices.native_bfloat16() is False  # the model runs on the GPU, not the CPU
    finally:
        devices.native_bfloat16.cache_clear()


def test_onednn_switch_leaves_a_choice_or_a_loaded_tensorflow_alone(monkeypatch):
    from aelib._onednn import enable_onednn

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # the user's choice
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert not enable_onednn() and os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    monkeypatch.setitem(sys.modules, "tensorflow", object())  # loaded: too late to switch
    assert not enable_onednn() and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
    monkeypatch.delitem(sys.modules, "tensorflow")
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")  # TensorFlow's own choice there
    assert not enable_onednn() and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert enable_onednn() and os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"


@pytest.mark.parametrize("flags, cap, expected", [
    ({"avx2", "avx512f", "amx_tile", "amx_bf16"}, None, "amx"),
    ({"avx2", "avx512f", "avx512_bf16"}, None, "avx512"),
    ({"avx2", "fma"}, None, "avx2"),
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX2", "avx2"),  # benchmarks/throughput.py's emulation
    (set(), None, "other"),
])
def test_cpu_class(monkeypatch, flags, cap, expected):
    a_cpu(monkeypatch, flags, cap)
    assert devices.cpu_class() == expected

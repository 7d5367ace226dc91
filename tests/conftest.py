"""Shared pytest fixtures.

Tools the tests need (arm-none-eabi-gcc, qemu-system-arm, espeak-ng, gcc) are
installed by `make test`; a test that needs a missing tool is skipped on a
developer machine but *fails* under CI=true, so a missing install step can never
hide behind a green run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import edgekws  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any TensorFlow import)

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The most expensive test files, costliest first (seconds of one file on a loaded 2-core machine,
#: `make test`'s --durations, Dec 2026). Why: `make test` runs files on parallel workers
#: (pytest-xdist --dist loadfile --no-loadscope-reorder) in collection order; a five-minute file
#: dealt out last keeps one worker busy while the other sits idle, so these go first and the many
#: short files fill in at the end. A stale list only costs balance, never correctness.
HEAVY_FIRST = (
    "test_bench_emulator.py",  # ~400 s: QEMU bench runs, default model 200 items
    "test_sanitized_c.py",  # ~370 s: other modules rerun under ASan+UBSan
    "test_stream_qemu.py",  # ~340 s: a 60 s stream through the emulated device
    "test_soak_emulator.py",  # ~270 s: 10,000 frames into QEMU
    "test_compress_prune.py",  # ~250 s
    "test_nn_models.py",  # ~170 s
    "test_task_asc_e2e.py",  # ~120 s alone: four ASC methods trained end to end
    "test_task_asc_export.py",  # ~75 s: the ASC model through export and QEMU
    "test_task_f0_e2e.py",  # ~70 s: f0 CNN trained, pYIN and the piano-free eval end to end
    "test_cli_sweep.py",  # ~160 s
    "test_pruning_study.py",  # ~150 s
    "test_fuzz_bounded.py",  # ~130 s
    "test_firmware_qemu.py",
    "test_layer_check.py",
    "test_firmware_backends.py",
    "test_autotune.py",
    "test_train_cli.py",
    "test_nn_cmsisnn.py",
    "test_distill.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, put the HEAVY_FIRST files first (longest-first scheduling, see above).

    Every worker sorts the same collection the same way (a stable sort), as xdist requires.
    """
    del config
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(HEAVY_FIRST)))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def require_tool(name: str) -> str:
    """Path of an executable, or skip (fail under CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def arm_gcc() -> str:
    return require_tool("arm-none-eabi-gcc")


@pytest.fixture(scope="session")
def qemu_arm() -> str:
    return require_tool("qemu-system-arm")


@pytest.fixture(scope="session")
def espeak() -> str:
    return require_tool("espeak-ng")


@pytest.fixture(scope="session")
def host_cc() -> str:
    return require_tool("gcc")

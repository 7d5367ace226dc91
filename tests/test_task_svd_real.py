"""svd's real figure: the pinned vocadito cache (basic-pitch 0.4.0 sdist) and the share-of-frames scorer.

The cache is optional (tools/setup.sh goes on without it); tests that read the real files
skip when it is absent, saying why. The pins are tested on files written here.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from edgekws.tasks.svd import real


def _cached() -> Path:
    try:
        return real.verify()
    except real.VocaditoCacheError as exc:
        pytest.skip(f"vocadito cache absent ({exc}); tools/setup.sh fetches it (optional step)")


def test_wrong_sdist_is_refused_with_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    fake = tmp_path / real.SDIST
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"RIFF not the pinned file"
        info = tarfile.TarInfo(real.MEMBER_DIR + "vocadito_10.wav")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    fake.write_bytes(buf.getvalue())
    spec = importlib.util.spec_from_file_location("fetch_vocadito", Path(__file__).parents[1] / "tools" /
                                                  "fetch_vocadito.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--dir", str(tmp_path / "cache"), "--wheel", str(fake)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "refusing to use it" in err and err.count("\n") == 1
    assert not (tmp_path / "cache" / "vocadito_10.wav").exists()


def test_verify_refuses_missing_or_changed_files(tmp_path: Path) -> None:
    with pytest.raises(real.VocaditoCacheError, match="not installed"):
        real.verify(tmp_path)
    src = _cached()
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    with pytest.raises(real.VocaditoCacheError, match="missing"):
        real.verify(tmp_path)
    for name in real.FILES:
        shutil.copy(src / name, tmp_path / name)
    assert real.verify(tmp_path) == tmp_path
    b = bytearray((tmp_path / "vocadito_14.wav").read_bytes())
    b[-1] ^= 1
    (tmp_path / "vocadito_14.wav").write_bytes(bytes(b))
    with pytest.raises(real.VocaditoCacheError, match="is corrupted"):
        real.verify(tmp_path)


def test_scorer_says_why_when_absent(tmp_path: Path) -> None:
    out = real.score_if_cached({}, {}, None, 15, 0.5, directory=tmp_path)
    assert out["available"] is False and "fetch_vocadito" in out["reason"]


def test_real_singing_is_mostly_non_silent_and_scored_per_model() -> None:
    """On the real files, with a real (untrained, seeded) detector: the stand-in truth and the shares are sane."""
    d = _cached()
    from edgekws.tasks.fit import set_seed
    from edgekws.tasks.svd import models
    from edgekws.tasks.svd.config import ModelConfig, task_frontend
    from edgekws.tasks.svd.pipeline import Norm

    fe = task_frontend()
    set_seed(0)
    net = models.build(fe.num_features, ModelConfig(channels=(4,), hidden=4))
    norm = Norm(np.full(fe.num_features, -40.0, np.float32), np.full(fe.num_features, 20.0, np.float32))
    out = real.score_if_cached({"pretrained": net}, {"pretrain": norm}, fe, 15, 0.5, directory=d)
    assert out["available"] and [c["file"] for c in out["clips"]] == list(real.FILES)
    secs = [c["seconds"] for c in out["clips"]]
    assert 8 < secs[0] < 11 and 11 < secs[1] < 14  # vocadito_10 ~9 s, vocadito_14 ~12 s
    # solo singing: most frames are within 40 dB of the loudest, some (breaths, pauses) are not
    assert 0.6 < out["non_silent_fraction"] < 1.0
    assert 0.0 <= out["detected"]["pretrained"] <= 1.0 and 0.0 <= out["detected_in_silence"]["pretrained"] <= 1.0

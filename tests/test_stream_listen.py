"""Host streaming mode end to end: a trained tiny int8 model (TFLite Micro) on a generated stream.

Checks that (1) streaming hop by hop gives exactly the detections of an independent whole-file
computation (features of the whole WAV, every K-th 49-frame window through TFLite Micro, the
detector's smoothing), whatever the chunk size; (2) the model really finds the keywords, scored
against the generator's ground truth; (3) the CLI prints the same detections and writes them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import load_audio
from edgekws.cli import main
from edgekws.export.bundle import load_bundle
from edgekws.frontend import FrontendConfig, compute_features
from edgekws.frontend.device import quantize_features
from edgekws.stream import (
    Detection,
    StreamConfig,
    StreamDetector,
    StreamSpec,
    format_detection,
    generate_stream,
    load_truth,
    open_session,
    run_stream,
    score_detections,
    write_stream,
)
from edgekws.tflm import TflmModel
from stream_fixtures import make_tone_dataset, tone_bundle

pytestmark = pytest.mark.slow
CFG = StreamConfig(k_hops=2, smooth_window=4, threshold=0.55, refractory_ms=1200)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_tone_dataset(tmp_path_factory.mktemp("tone_data"), per_word=8, seed=7)
    s = generate_stream(root, StreamSpec(duration_s=40, seed=5, keywords=("yes", "no", "up")), split=None)
    out = tmp_path_factory.mktemp("tone_stream")
    write_stream(out, s)
    return out


def batch_detections(wav: Path, bundle_dir: Path, cfg: StreamConfig) -> list[Detection]:
    """The same answer computed another way: whole-file features, sliding windows, then the detector."""
    b = load_bundle(bundle_dir)
    fe = dataclasses.replace(FrontendConfig.from_dict(b.meta["frontend"]), exact="device")
    x = load_audio(wav, fe.sample_rate)
    norm = b.meta["input_norm"]
    q = quantize_features(compute_features(x, fe), np.array(norm["mean"]), np.array(norm["std"]),
                          b.meta["input"]["scale"], b.meta["input"]["zero_point"])
    params = open_session(bundle_dir, cfg).params
    model = TflmModel(b.tflite_path)
    det = StreamDetector(params, b.labels)
    found = []
    n = params.num_frames
    for end in range(n, len(q) + 1, params.k_hops):
        out = model.run(q[end - n:end][None, :, :, None]).reshape(-1)
        d = det.push_output(out, end - 1)
        if d is not None:
            found.append(d)
    return found


def test_streaming_equals_batch_and_finds_keywords(bundle: Path, stream_dir: Path) -> None:
    wav = stream_dir / "stream.wav"
    want = batch_detections(wav, bundle, CFG)
    for chunk in (320, 1111):
        assert run_stream(wav, bundle, CFG, chunk_samples=chunk) == want
    # the training-time (host) frontend differs from the device's by at most 1 LSB per feature
    host = open_session(bundle, CFG, exact="host").features.push(load_audio(wav))
    dev = open_session(bundle, CFG).features.push(load_audio(wav))
    assert np.max(np.abs(host.astype(int) - dev.astype(int))) <= 1
    score = score_detections(want, load_truth(stream_dir / "truth.json"))
    assert score.num_keywords >= 10
    assert score.hit_rate >= 0.7, score
    assert score.false_alarms <= score.num_keywords // 3, score
    assert score.mean_delay_ms is not None and -500 < score.mean_delay_ms < 1000


def test_cli_listen_prints_detections_and_scores(bundle: Path, stream_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    wav = stream_dir / "stream.wav"
    args = ["--threshold", str(CFG.threshold), "--k-hops", str(CFG.k_hops), "--smooth", str(CFG.smooth_window),
            "--refractory-ms", str(CFG.refractory_ms)]
    with pytest.raises(SystemExit) as exc:
        main(["listen", str(wav), "--bundle", str(bundle), "--out", str(tmp_path / "d.json"), *args])
    assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    want = run_stream(wav, bundle, CFG)
    for d in want:
        assert format_detection(d) in out
    doc = json.loads((tmp_path / "d.json").read_text())
    assert [Detection.from_dict(d) for d in doc["detections"]] == want
    assert doc["params"]["threshold"] == open_session(bundle, CFG).params.threshold
    with pytest.raises(SystemExit) as exc:
        main(["stream", "score", str(tmp_path / "d.json"), "--truth", str(stream_dir / "truth.json"),
              "--out", str(tmp_path / "score.json")])
    assert exc.value.code in (0, None)
    assert "hit rate" in capsys.readouterr().out
    assert json.loads((tmp_path / "score.json").read_text())["hits"] >= 1


def test_cli_listen_bad_inputs_one_line(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["listen", str(tmp_path / "missing.wav"), "--bundle", str(bundle)],
                 ["listen", "--bundle", str(bundle)],
                 ["listen", str(tmp_path / "x.wav"), "--bundle", str(tmp_path)],
                 ["listen", str(tmp_path / "x.wav"), "--bundle", str(bundle), "--threshold", "2"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert exc.value.code not in (0, None)
        assert err.startswith("error: ") and len(err.splitlines()) == 1, err

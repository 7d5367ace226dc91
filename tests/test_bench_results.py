"""Bench bookkeeping without a device: JSONL append/resume, summaries, report merge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.bench import stats
from edgekws.bench.config import BenchConfig
from edgekws.bench.log import ResultLog, read_jsonl
from edgekws.bench.report import merge_device_figures
from edgekws.errors import BundleError, ConfigError


def test_log_appends_and_resumes(tmp_path: Path) -> None:
    p = tmp_path / "r.jsonl"
    meta = {"mode": "accuracy", "bundle_hash": "abc"}
    log = ResultLog(p).open(meta, resume=False)
    for i in range(3):
        log.append({"kind": "accuracy", "index": i, "match": True})
    log.close()
    # a writer killed mid-line leaves a torn record: it is ignored and the file stays appendable
    with open(p, "a") as fh:
        fh.write('{"kind": "accuracy", "ind')
    log = ResultLog(p).open(meta, resume=True)
    assert log.done("accuracy") == {0, 1, 2}
    log.append({"kind": "accuracy", "index": 3, "match": False})
    log.append({"kind": "accuracy", "index": 2, "match": False})  # repeated item: the last one wins
    log.close()
    recs = read_jsonl(p)
    assert [r["index"] for r in recs if r["kind"] == "accuracy"] == [0, 1, 2, 3, 2]
    log = ResultLog(p).open(meta, resume=True)
    assert [r["match"] for r in log.of_kind("accuracy")] == [True, True, False, False]
    log.close()
    with pytest.raises(ConfigError, match="another --jsonl"):
        ResultLog(p).open({"mode": "accuracy", "bundle_hash": "other"}, resume=True)
    # without --resume the file starts over
    ResultLog(p).open(meta, resume=False).close()
    assert [r["kind"] for r in read_jsonl(p)] == ["meta"]


def test_latency_summary_labels_units() -> None:
    recs = [{"total": t, "layers": [t - 10, 10]} for t in (100, 300, 200)]
    s = stats.summarize_latency(recs, "instructions", 25_000_000, [{"name": "a", "op": "CONV_2D", "backend": "ref"},
                                                                     {"name": "b", "op": "SOFTMAX", "backend": "ref"}])
    assert s["frame"] == {"min": 100.0, "median": 200.0, "max": 300.0, "mean": 200.0}
    assert s["unit"] == "instructions" and "frame_ms" not in s
    assert s["frame_ms_estimate_at_216mhz_1ipc"]["median"] == pytest.approx(200 / 216e3)
    assert s["layers"][0]["name"] == "a" and s["layers"][1]["median"] == 10
    c = stats.summarize_latency(recs, "cycles", 216_000_000)
    assert c["frame_ms"]["median"] == pytest.approx(200 / 216e3) and "frame_ms_estimate_at_216mhz_1ipc" not in c
    assert stats.summarize_latency([], "cycles", 1)["runs"] == 0


def test_accuracy_summary() -> None:
    recs = [{"index": 0, "label": 1, "pred": 1, "ref_pred": 1, "match": True},
            {"index": 1, "label": 2, "pred": 0, "ref_pred": 0, "match": True},
            {"index": 2, "label": 0, "pred": 0, "ref_pred": 2, "match": False}]
    s = stats.summarize_accuracy(recs, ["a", "b", "c"])
    assert s["items"] == 3 and s["mismatched_indices"] == [2]
    assert s["device_accuracy"] == pytest.approx(2 / 3) and s["tflm_accuracy"] == pytest.approx(1 / 3)
    assert s["bit_exact_agreement"] == pytest.approx(2 / 3)
    assert np.array(s["confusion"]).sum() == 3


def test_report_merge_keeps_everything_else(tmp_path: Path) -> None:
    p = tmp_path / "report.json"
    p.write_text(json.dumps({"int8_accuracy": 0.9, "firmware_memory": {"x": 1}}))
    merge_device_figures(p, "mps2_an500", {"latency": {"runs": 3}, "status": "partial", "error": "boom"})
    merge_device_figures(p, "mps2_an500", {"accuracy": {"items": 5}, "status": "complete"})
    merge_device_figures(p, "nucleo_f767zi", {"latency": {"runs": 9}, "status": "complete"})
    r = json.loads(p.read_text())
    assert r["int8_accuracy"] == 0.9 and r["firmware_memory"] == {"x": 1}
    emu = r["device"]["mps2_an500"]
    assert emu["latency"] == {"runs": 3} and emu["accuracy"] == {"items": 5}
    assert emu["status"] == "complete" and "error" not in emu
    assert r["device"]["nucleo_f767zi"]["latency"]["runs"] == 9
    assert not [f for f in tmp_path.iterdir() if f.name != "report.json"]  # no temp file left
    p.write_text("{not json")
    with pytest.raises(BundleError):
        merge_device_figures(p, "x", {})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"mode": "speed", "port": "x"}, "unknown bench mode"),
    ({}, "--port"),
    ({"port": "x", "emulate": True}, "exclude"),
    ({"port": "x", "runs": 0}, "--runs"),
    ({"port": "x", "resume": True}, "--jsonl"),
])
def test_config_errors_are_one_line(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BenchConfig(bundle=Path("b"), **kwargs)

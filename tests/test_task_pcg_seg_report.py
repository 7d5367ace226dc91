"""The pcg-seg report from a hand-made evaluated run: anchor apart, data named, verdicts from the intervals."""

from __future__ import annotations

import json
from pathlib import Path

from edgekws.tasks.pcg_seg import report
from edgekws.tasks.runner import write_json


def _variant(inp: str, p: int, f1: float, ci: tuple[float, float]) -> dict:
    return {"input": inp, "percent": p, "subjects": p // 10, "f1": f1, "f1_ci": list(ci), "accuracy": 0.9,
            "accuracy_ci": [0.85, 0.95], "tp": 90, "fp": 5, "fn": 5, "f1_argmax": 0.7, "accuracy_argmax": 0.8,
            "order_violations_decoded": 0, "order_violations_argmax": 33}


def _run(tmp_path: Path, generated: bool) -> Path:
    run = tmp_path / "run"
    write_json(run / "task.json", {"task": "pcg-seg", "data": "/d", "config": {
        "model": {"channels": 16, "dilations": [1, 2, 4]}, "epochs": 3, "learning_rate": 0.003, "seed": 0}})
    write_json(run / "train.json", {"fractions": {"10": {"subjects": 1}, "100": {"subjects": 10}}})
    v = {"topo-10": _variant("topo", 10, 0.70, (0.60, 0.80)), "topo-100": _variant("topo", 100, 0.95, (0.93, 0.97)),
         "logmel-10": _variant("logmel", 10, 0.50, (0.40, 0.60)),
         "logmel-100": _variant("logmel", 100, 0.80, (0.75, 0.85)),
         "envelope-100": _variant("envelope", 100, 0.94, (0.90, 0.96))}
    ex = {"id": "a0001", "hop_s": 0.02, "t0_s": 0.025, "envelope": [0.0, 1.0, 0.5, 0.1], "true": [1, 1, 2, 3],
          "pred": {"topo": [1, 2, 2, 3]}}
    write_json(run / "metrics.json", {"data": "/d", "data_generated": generated, "test_records": 4,
                                      "test_frames_annotated": 1000, "tolerance_s": 0.06, "variants": v,
                                      "params": {"topo": 5000, "logmel": 4000, "envelope": 4000}, "examples": [ex]})
    return run


def test_report_names_data_keeps_anchor_apart_and_reads_intervals(tmp_path: Path) -> None:
    run = _run(tmp_path, generated=True)
    paths = report.write(run, run / "report")
    md = paths["markdown"].read_text()
    assert "The data is GENERATED" in md and "no real-data figure" in md
    anchor = md.split("## Published anchor (their data, not ours)")[1].split("## Findings")[0]
    assert "Springer" in anchor and "95.6 %" in anchor
    assert "95.6" not in md.split("## Published anchor")[0]  # never in our tables
    assert "| TopSeg: topological features + TCN | 5,000 | 70.0 [60.0, 80.0] | 95.0 [93.0, 97.0] |" in md
    assert "95.0 [93.0, 97.0] % higher than log-mel" in md  # intervals apart
    assert "not separated from (intervals overlap) envelope" in md  # intervals overlap
    assert "argmax F1 70.0 % with 33 order violations -> decoded 95.0 % with 0" in md
    assert (run / "report" / "figures" / "curve.png").is_file() and (run / "report" / "figures" / "example1.png").is_file()
    data = json.loads(paths["json"].read_text())
    assert data["anchors"][0]["value"] == 0.956 and "examples" not in data["metrics"]


def test_report_on_real_folder_does_not_claim_generated(tmp_path: Path) -> None:
    md = report.write(_run(tmp_path, generated=False), tmp_path / "out")["markdown"].read_text()
    assert "GENERATED" not in md and "annotated records at /d" in md

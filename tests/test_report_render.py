"""Reports: Markdown + self-contained HTML + JSON from hand-made report.json files (no training needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.errors import BundleError
from edgekws.report import load_reports, write_report

LABELS = ["_silence_", "_unknown_", "yes", "no"]


def _report(name: str, gran: str, sparsity: float, f: float, q: float, device: dict | None = None) -> dict:
    cm = np.diag([5, 5, 5, 5]).tolist()
    r = {
        "name": name, "granularity": gran, "target_sparsity": sparsity, "labels": LABELS,
        "accuracy": {"float": f, "int8": q, "int8_minus_float": q - f, "n_test": 200},
        "size": {"weights": 1000, "nonzero_weights": int(1000 * (1 - sparsity)), "macs": 50000,
                 "weight_bytes_dense": 1100, "weight_bytes_compressed": int(1100 * (1 - sparsity / 2)),
                 "tflite_bytes": 4000, "params": 1100, "sparsity": sparsity},
        "sparsity": sparsity,
        "confusion": {"float": cm, "int8": cm},
        "history": {"train": {"loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.2, 0.7],
                              "accuracy": [0.3, 0.6, 0.9], "val_accuracy": [0.3, 0.5, 0.8]}},
        "timings": {"train_s": 12.5, "quantize_s": 1.25},
    }
    if gran != "none":
        r["baseline"] = {"name": "dense", "float": 0.9, "int8": 0.89, "weights": 1000, "n_test": 200}
        r["accuracy_drop"] = {"float": 0.9 - f, "int8": 0.89 - q}
    if device:
        r["device"] = device
    return r


def _write(tmp_path: Path, reports: list[dict]) -> list[Path]:
    dirs = []
    for r in reports:
        d = tmp_path / r["name"]
        d.mkdir()
        (d / "report.json").write_text(json.dumps(r))
        dirs.append(d)
    return dirs


def test_report_files_and_table(tmp_path: Path) -> None:
    dirs = _write(tmp_path, [_report("dense", "none", 0.0, 0.90, 0.89),
                             _report("el80", "element", 0.8, 0.88, 0.875),
                             _report("el50", "element", 0.5, 0.895, 0.89),
                             _report("f50", "filter", 0.5, 0.86, 0.85)])
    paths = write_report(dirs, tmp_path / "out")
    md = paths["markdown"].read_text()
    assert md.count("\n| ") >= 5  # header + 4 rows
    # every accuracy with its Wilson interval; differences of a clip or two are marked not significant
    assert ("| el80 | element | 80 | 80.0 | 200 | 88.0 [82.8-91.8] | 87.5 [82.2-91.4] | -0.5 (n.s., ±6.5) "
            "| +1.5 (n.s., ±6.4) |") in md
    assert "95 % Wilson interval" in md and "95 % Wilson interval" in paths["html"].read_text()
    assert "float 88.0 % [82.8, 91.8] (176/200), int8 87.5 % [82.2, 91.4] (175/200)" in md
    assert "int8 drop 1.5 pts (within the" in md
    for fig in ("accuracy_vs_sparsity", "size_vs_sparsity", "int8_vs_float", "model0_training", "model3_confusion"):
        png = tmp_path / "out" / "figures" / f"{fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
        assert f"figures/{fig}.png" in md
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") >= 5
    assert 'src="figures/' not in page  # self-contained
    assert "train 12.5 s" in md
    summary = json.loads(paths["json"].read_text())
    assert [row["model"] for row in summary] == ["dense", "el80", "el50", "f50"]


def test_device_figures_become_columns(tmp_path: Path) -> None:
    """Per board: latency with its counter unit in the header, memory, on-device accuracy, plus the two plots."""
    dev = {"mps2_an500": {"counter_unit": "instructions",
                          "latency": {"frame": {"median": 4553760}},
                          "firmware": {"backends": "simd"},
                          "memory": {"flash_bytes": 69104, "ram_bytes": 88256, "arena_bytes": 16000},
                          "accuracy": {"device_accuracy": 0.95, "items": 120, "bit_exact_agreement": 1.0}}}
    dirs = _write(tmp_path, [_report("a", "none", 0.0, 0.9, 0.9, device=dev),
                             _report("b", "filter", 0.5, 0.9, 0.9)])
    out = write_report(dirs, tmp_path / "out")
    md = out["markdown"].read_text()
    assert "mps2_an500 instructions/inference (median)" in md
    assert "estimate, 1 instr/cycle" in md and "cycles" not in md.split("## Findings")[0]
    row_a = next(line for line in md.splitlines() if line.startswith("| a |"))
    assert "4,553,760" in row_a and "69,104" in row_a and "95.0 [89.5-97.7]" in row_a and "100.0" in row_a
    assert f"{4553760 / 216e3:.1f}" in row_a
    row_b = next(line for line in md.splitlines() if line.startswith("| b |"))
    assert row_b.rstrip().endswith("| - |")
    assert (tmp_path / "out" / "figures" / "accuracy_vs_latency.png").is_file()
    assert (tmp_path / "out" / "figures" / "latency_vs_sparsity.png").is_file()


def test_bad_report_inputs(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        load_reports([tmp_path / "nope"])
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "report.json").write_text("{oops")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_reports([tmp_path / "x"])
    (tmp_path / "x" / "report.json").write_text('{"name": "n"}')
    with pytest.raises(BundleError, match="not a model report"):
        load_reports([tmp_path / "x"])


def _study(tmp_path: Path) -> Path:
    """A small study in the data-ablation shape (keys sorted as the writer sorts them, order in 'steps')."""
    def acc(c: int, n: int) -> dict:
        from edgekws.metrics import accuracy

        return accuracy(c, n).as_dict()

    doc = {"meta": {"dev_name": "real_kws_dev", "per_word": 100, "epochs": 20, "recipe": "ds-cnn-s"},
           "steps": ["espeak", "+flite"],
           "variants": {"+flite": {"engines": ["espeak", "flite"], "real": {"accuracy": acc(249, 640),
                                                                             "keyword_accuracy": acc(178, 500)}},
                        "espeak": {"engines": ["espeak"], "real": {"accuracy": acc(215, 640),
                                                                   "keyword_accuracy": acc(149, 500)}}}}
    p = tmp_path / "study.json"
    p.write_text(json.dumps(doc, sort_keys=True))
    return p


def test_ablation_tables_and_plots_in_the_report(tmp_path: Path) -> None:
    from edgekws.report.ablation import load_ablation

    ab = load_ablation(_study(tmp_path))
    assert [r.step for r in ab.rows] == ["espeak", "+flite"]  # the study's order, not the sorted keys
    dirs = _write(tmp_path, [_report("dense", "none", 0.0, 0.90, 0.89)])
    root = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    paths = write_report(dirs, tmp_path / "out", ablations=[tmp_path / "study.json", root / "teacher_distill.json"])
    md = paths["markdown"].read_text()
    assert "| espeak | ds-cnn-s int8, espeak | 33.6 [30.0-37.3] | 29.8 [26.0-34.0] |" in md
    assert md.index("| espeak |") < md.index("| +flite |")
    # the committed distillation study, every row with its dev-set figure
    assert "| DS-CNN-S distilled (alpha 0.7, T 3), 14 rounds x 2 | student int8 (TFLite Micro) | 71.2 [67.6-74.6]" in md
    assert (tmp_path / "out" / "figures" / "ablation0.png").stat().st_size > 1000
    assert "Real-speech ablation: teacher and distillation" in paths["html"].read_text()


def test_bad_ablation_is_one_error_before_anything_is_written(tmp_path: Path) -> None:
    from edgekws.errors import ConfigError

    dirs = _write(tmp_path, [_report("dense", "none", 0.0, 0.90, 0.89)])
    bad = tmp_path / "bad.json"
    for text, msg in (("{oops", "cannot read"), ('{"x": 1}', "neither"),
                      ('{"variants": {"a": {"real": {}}}}', "no real-speech accuracy")):
        bad.write_text(text)
        with pytest.raises(ConfigError, match=msg):
            write_report(dirs, tmp_path / "out", ablations=[bad])
    assert not (tmp_path / "out").exists()


def test_stream_modes_are_side_by_side(tmp_path: Path) -> None:
    """`stream device --report` merges each inference mode under its own key; the table shows both."""
    from edgekws.bench.report import merge_device_figures
    from edgekws.cli.stream import stream_report_key

    dirs = _write(tmp_path, [_report("s", "none", 0.0, 0.9, 0.9)])
    report = dirs[0] / "report.json"
    for incremental, cls, inf in ((False, 1795875, 1674953), (True, 375022, 254100)):
        merge_device_figures(report, "mps2_an500", {stream_report_key(incremental): {
            "counter_unit": "instructions", "frontend_per_hop_max": 60461, "inference_max": inf,
            "classification_max": cls}})
    dev = json.loads(report.read_text())["device"]["mps2_an500"]
    assert dev["stream"]["classification_max"] == 1795875  # the incremental run did not overwrite it
    md = write_report(dirs, tmp_path / "out")["markdown"].read_text()
    header = next(line for line in md.splitlines() if line.startswith("| model |"))
    row = next(line for line in md.splitlines() if line.startswith("| s |"))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")], strict=True))
    assert cells["mps2_an500 stream instructions/classification (max)"] == "1,795,875"
    assert cells["mps2_an500 incremental stream instructions/classification (max)"] == "375,022"

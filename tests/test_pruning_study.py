"""The pruning study driver (benchmarks/pruning_study.py) and its report (edgekws.report.study)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from edgekws.export import kernels_cmsisnn as kc
from edgekws.report.study import findings, pareto_front, write_study_report

REPO = Path(__file__).resolve().parents[1]


def _study_module():
    spec = importlib.util.spec_from_file_location("pruning_study", REPO / "benchmarks" / "pruning_study.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


study = _study_module()


def _row(point: str, gran: str, sp: float, backend: str, total: int, acc: float) -> dict:
    return {"model": "m", "point": point, "granularity": gran, "target_sparsity": sp, "sparsity": sp,
            "backend": backend, "total": total, "accuracy_int8": acc, "assignment": [backend, backend],
            "layer_counts": [total // 2, total - total // 2], "layer_names": ["a", "b"],
            "layer_ops": ["CONV_2D", "FULLY_CONNECTED"], "passed": True, "flash_bytes": 10, "ram_bytes": 5,
            "n_test": 100}


ROWS = [_row("dense", "none", 0.0, "ref", 9000, 0.80), _row("dense", "none", 0.0, "simd", 2000, 0.80),
        _row("element-80", "element", 0.8, "simd", 2000, 0.79), _row("element-80", "element", 0.8, "wp", 1500, 0.79),
        _row("element-80", "element", 0.8, "auto", 1200, 0.79),
        _row("block-80", "block", 0.8, "block", 1900, 0.70)]


def test_parse_points_reads_percentages_and_rejects_bad_input() -> None:
    pts = study.parse_points(["element:50,80", "nm", "filter:90"])
    assert [p.label for p in pts] == ["element-50", "element-80", "nm-2of4", "filter-90"]
    assert pts[1].sparsity == pytest.approx(0.8)
    with pytest.raises(SystemExit, match="unknown granularity"):
        study.parse_points(["rows:50"])
    with pytest.raises(SystemExit, match="between 1 and 99"):
        study.parse_points(["element:100"])


def test_default_grid_covers_every_granularity_and_level() -> None:
    labels = {p.label for p in study.default_points()}
    for g in ("element", "block", "kernel", "filter"):
        assert {f"{g}-{s}" for s in (50, 70, 80, 90)} <= labels
    assert "nm-2of4" in labels


def test_structured_points_skip_sparse_backends() -> None:
    cfg = study.StudyConfig(quick=True)
    assert set(study.backends_for(cfg, study.Point("filter", 0.5))) <= {"ref", "simd", "cmsisnn"}
    assert "wp" in study.backends_for(cfg, study.Point("element", 0.8))
    assert "wp" not in study.backends_for(cfg, study.Point("none", 0.0))


def test_summary_states_the_targets() -> None:
    s = study.summarize(ROWS)["m"]
    assert s["simd_speedup_vs_ref"] == 4.5 and s["simd_target_3x_met"]
    e = s["at_80"]["element-80"]
    assert e["best_backend"] == "auto" and e["speedup_vs_dense_simd"] == pytest.approx(2000 / 1200, abs=0.01)
    assert e["speed_target_1p5x_met"] and e["accuracy_target_met"] and e["accuracy_drop_points"] == 1.0
    b = s["at_80"]["block-80"]
    assert not b["speed_target_1p5x_met"] and not b["accuracy_target_met"]


def test_accuracy_drops_carry_their_interval() -> None:
    s = study.summarize(ROWS)["m"]
    e, b = s["at_80"]["element-80"], s["at_80"]["block-80"]
    assert not e["accuracy_drop_significant"] and "within the" in e["accuracy_drop_text"]  # 80/100 vs 79/100
    lo, hi = e["accuracy_drop_interval_points"]
    assert lo < 0 < hi
    doc = {"unit": "instructions", "board": "mps2_an500", "rows": ROWS, "summary": study.summarize(ROWS)}
    assert any("drop 1.0 pts (within the" in f for f in findings(doc))
    assert b["accuracy_drop_points"] == 10.0


def test_failed_selftest_is_never_a_figure(tmp_path: Path) -> None:
    """A wp image whose self-test failed but counted fewest instructions: listed as FAILED, never best."""
    bad = {**_row("element-80", "element", 0.8, "wp", 500, 0.79), "passed": False}
    rows = [r for r in ROWS if not (r["point"] == "element-80" and r["backend"] == "wp")] + [bad]
    s = study.summarize(rows)["m"]
    assert s["failed"] == ["element-80/wp"]
    assert s["at_80"]["element-80"]["best_backend"] == "auto"
    doc = {"unit": "instructions", "board": "mps2_an500", "rows": rows, "summary": study.summarize(rows)}
    write_study_report(doc, tmp_path)
    md = (tmp_path / "pruning_study.md").read_text()
    assert "FAILED" in md and "| 500 |" not in md and " 500 " not in md
    assert any("FAILED their self-test" in f for f in findings(doc))


def test_study_exits_nonzero_when_a_selftest_failed(tmp_path: Path, monkeypatch, capsys) -> None:
    """The driver's verdict on a recorded study document with one failed image (the measuring itself is
    test_quick_study_end_to_end's job): one error line, exit 1, the JSON still written."""
    bad = {**_row("element-80", "element", 0.8, "wp", 500, 0.79), "passed": False}
    doc = {"unit": "instructions", "board": "mps2_an500", "rows": [*ROWS, bad], "summary": {}}
    monkeypatch.setattr(study, "run_study", lambda cfg, progress=True: doc)
    assert study.main(["--quick", "--no-report", "--out", str(tmp_path), "--work", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "error: 1 image(s) failed their self-test" in err and "m element-80/wp" in err
    assert (tmp_path / "pruning_study.json").is_file()
    doc["rows"] = ROWS
    assert study.main(["--quick", "--no-report", "--out", str(tmp_path), "--work", str(tmp_path / "w")]) == 0


def test_pareto_front_keeps_only_undominated_points() -> None:
    pts = [(100, 0.9), (50, 0.8), (60, 0.7), (200, 0.95), (200, 0.5), (50, 0.6)]
    assert pareto_front(pts) == [(50, 0.8), (100, 0.9), (200, 0.95)]


def test_report_writes_markdown_html_and_pngs(tmp_path: Path) -> None:
    doc = {"unit": "instructions", "board": "mps2_an500", "rows": ROWS, "summary": study.summarize(ROWS)}
    paths = write_study_report(doc, tmp_path)
    md = (tmp_path / "pruning_study.md").read_text()
    page = (tmp_path / "pruning_study.html").read_text()
    assert "| element-80 |" in md and "1200" in md and "meets the 3x target" in md
    assert "pruning_study_pareto.png" in md and "data:image/png;base64," in page
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
    assert (tmp_path / "pruning_study_pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert any("misses" in f for f in findings(doc))


@pytest.mark.slow
def test_quick_study_end_to_end(tmp_path: Path, arm_gcc: str, qemu_arm: str, espeak: str) -> None:
    """Real synthetic data, training, pruning, firmware builds and QEMU counts; tiny everything.
    A second run must reuse every cached stage."""
    args = ["--quick", "--models", "paper-cnn", "--points", "element:80", "--backends", "simd", "wp",
            "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert study.main(args) == 0
    doc = json.loads((tmp_path / "out" / "pruning_study.json").read_text())
    rows = doc["rows"]
    want = {("dense", "simd"), ("dense", "auto"), ("element-80", "simd"), ("element-80", "wp"), ("element-80", "auto")}
    if kc.available():  # CMSIS-NN configured (the fetched cache): the study always compares with it
        want |= {("dense", "cmsisnn"), ("element-80", "cmsisnn")}
    assert {(r["point"], r["backend"]) for r in rows} == want
    for r in rows:
        assert r["passed"] and r["total"] > 0 and r["unit"] == "instructions"
        assert 0.0 <= r["accuracy_int8"] <= 1.0
    sparse = next(r for r in rows if r["point"] == "element-80" and r["backend"] == "wp")
    assert sparse["sparsity"] > 0.5 and sparse["flash_bytes"] > 0 and sparse["ram_bytes"] > 0
    auto = next(r for r in rows if r["point"] == "element-80" and r["backend"] == "auto")
    # the autotuned mix is built and measured too (counts are exact; the fixed overhead differs per image)
    assert auto["total"] <= min(r["total"] for r in rows if r["point"] == "element-80") * 1.01
    assert auto["flash_bytes"] > 0 and abs(auto["total"] - auto["estimated_total"]) <= 0.01 * auto["total"]
    assert (tmp_path / "out" / "pruning_study.html").is_file()
    builds = sorted(p.name for p in (tmp_path / "work" / "builds").iterdir())
    assert study.main(args) == 0  # everything cached: no new build
    assert sorted(p.name for p in (tmp_path / "work" / "builds").iterdir()) == builds


def test_sparse_layer_figures_explain_the_whole_model_gain() -> None:
    dense = {**_row("dense", "none", 0.0, "simd", 1000, 0.8), "layer_counts": [400, 600],
             "assignment": ["simd", "simd"]}
    pruned = {**_row("element-80", "element", 0.8, "auto", 0, 0.8), "layer_counts": [400, 200],
              "assignment": ["simd", "wp"]}
    f = study._sparse_layer_figures(dense, pruned)
    assert f["sparse_layers"] == ["b"]
    assert f["sparse_layers_share_of_dense_simd"] == 0.6
    assert f["sparse_layers_speedup"] == 3.0
    assert f["bound_if_sparse_layers_free"] == 2.5

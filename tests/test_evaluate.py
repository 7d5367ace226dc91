"""`edgekws evaluate`: figures, the official test-set layout, the bundle's own pipeline, merging, bad input.

The end-to-end check writes the default bundle's own test clips (int16 audio kept in
testset.npz) as WAV files in the official test-set archive's layout and evaluates the
bundle on them: every word clip must give exactly the int8 input the training pipeline
stored for it, and the same TFLite Micro decision.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekws.cli import main
from edgekws.data.speech_commands import (
    KEYWORDS,
    DatasetConfig,
    assign_splits,
    list_clips,
    list_split,
    scan_dataset,
)
from edgekws.data.summary import summarize_dataset
from edgekws.errors import ConfigError, DatasetError
from edgekws.evaluate import EvalConfig, evaluate_bundle, merge_evaluation, score
from edgekws.metrics import wilson_interval

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "models" / "default"
REAL_DEV = REPO.parent / "shared" / "data" / "real_kws_dev"
LABELS = ["_silence_", "_unknown_", *KEYWORDS]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def write_clip(path: Path, pcm: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(pcm, np.int16), rate, "PCM_16")


def tone_archive(root: Path, per_word: int = 2, words: tuple[str, ...] = ("yes", "no", "up"),
                 lists: bool = False) -> Path:
    """A tiny test-set archive layout: keyword folders + ready-made _silence_/_unknown_, tones and noise."""
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    for k, folder in enumerate([*words, "_unknown_", "_silence_"]):
        for s in range(per_word):
            x = 8000 * np.sin(2 * np.pi * (300 + 90 * k + 7 * s) * t) if folder != "_silence_" else \
                rng.normal(0, 200, 16000)
            write_clip(root / folder / f"{s:08x}_nohash_{k}.wav", x)
    if lists:
        word_clips = [f"{w}/{s:08x}_nohash_{k}.wav" for k, w in enumerate([*words, "_unknown_"])
                      for s in range(per_word)]
        (root / "testing_list.txt").write_text("\n".join(word_clips) + "\n")
        (root / "validation_list.txt").write_text("")
    return root


# ---- pure figures ---------------------------------------------------------------------------------------


def test_score_counts_accuracies_recall_and_false_accepts() -> None:
    # 4 silence, 4 unknown, 4 yes, 4 no (labels 0, 1, 2, 3)
    y = np.array([0] * 4 + [1] * 4 + [2] * 4 + [3] * 4)
    pred = np.array([0, 0, 2, 1,   1, 1, 1, 3,   2, 2, 2, 1,   3, 0, 2, 3])
    s = score(y, pred, LABELS)
    assert s["clips"] == 16
    assert (s["accuracy"]["correct"], s["accuracy"]["n"]) == (2 + 3 + 3 + 2, 16)
    assert (s["keyword_accuracy"]["correct"], s["keyword_accuracy"]["n"]) == (5, 8)
    lo, hi = wilson_interval(5, 8)
    assert s["keyword_accuracy"]["ci_low"] == pytest.approx(lo) and s["keyword_accuracy"]["ci_high"] == pytest.approx(hi)
    assert s["per_class"]["_silence_"]["accuracy"] == 0.5 and s["per_class"]["no"]["correct"] == 2
    assert s["per_class"]["up"]["n"] == 0
    fa = s["false_accepts"]  # silence -> yes (1), unknown -> no (1); silence -> unknown is no false accept
    assert (fa["count"], fa["n"]) == (2, 8) and fa["rate"] == 0.25
    assert fa["by_class"] == {"_silence_": {"count": 1, "n": 4}, "_unknown_": {"count": 1, "n": 4}}
    cm = np.array(s["confusion"])
    assert cm.shape == (12, 12) and cm.sum() == 16 and cm[3, 0] == 1 and cm[0, 2] == 1
    with pytest.raises(DatasetError, match="outside"):
        score(np.array([0]), np.array([12]), LABELS)


# ---- the official test-set archive layout ---------------------------------------------------------------


def test_test_archive_layout_every_clip_is_a_test_clip(tmp_path: Path) -> None:
    root = tone_archive(tmp_path / "ts", per_word=3)
    index = scan_dataset(root)
    assert index.is_test_archive and set(index.ready_made) == {"_silence_", "_unknown_"}
    splits = assign_splits(index, DatasetConfig())
    assert splits["training"] == [] and splits["validation"] == [] and len(splits["testing"]) == 15
    ex = list_split(index, "testing")  # the archive's own balance, nothing sampled or synthesised
    assert [e.word for e in ex].count("_silence_") == 3 and all(e.path for e in ex)
    assert {e.word: e.label for e in ex} == {"yes": 2, "no": 3, "up": 4, "_unknown_": 1, "_silence_": 0}
    clips = list_clips(index, "test")
    assert len(clips) == 15 and {e.label for e in clips if e.word == "_silence_"} == {0}
    s = summarize_dataset(root, "kws-mfcc-49x10", use_cache=False)
    by = {sp.split: sp for sp in s.splits}
    assert s.split_source == "test-archive" and by["training"].total == 0 and by["validation"].total == 0
    assert by["testing"].counts["_silence_"] == 3 and by["testing"].counts["_unknown_"] == 3
    assert by["testing"].features is not None and by["testing"].features.shape == (15, 49, 10)
    assert by["training"].features is not None and by["training"].features.shape[0] == 0


def test_data_summary_cli_reads_the_test_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tone_archive(tmp_path / "ts")
    code, out, err = run(["data", "summary", str(root), "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 0, err
    assert "test-archive" in out and "_silence_" in out


def test_lists_plus_ready_made_silence_folder(tmp_path: Path) -> None:
    """The dev set's layout: testing_list names every word clip, _silence_/ is unlisted: still test clips."""
    root = tone_archive(tmp_path / "dev", per_word=2, lists=True)
    splits = assign_splits(scan_dataset(root), DatasetConfig())
    assert splits["training"] == [] and len(splits["testing"]) == 10
    assert sum(p.startswith("_silence_/") for p in splits["testing"]) == 2


# ---- the bundle's own pipeline, end to end --------------------------------------------------------------


@pytest.fixture(scope="module")
def own_testset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray], list[str]]:
    """models/default's test clips written as WAVs in the test-archive layout (label folders)."""
    from edgekws.export.bundle import load_bundle

    b = load_bundle(DEFAULT)
    ts = b.testset()
    root = tmp_path_factory.mktemp("own") / "testset"
    names = []
    for i, (pcm, y) in enumerate(zip(ts["audio_int16"], ts["y"], strict=True)):
        name = f"{b.labels[int(y)]}/{i:08x}_nohash_0.wav"
        write_clip(root / name, pcm)
        names.append(name)
    return root, ts, names


def test_evaluate_reproduces_the_bundles_own_int8_inputs_and_decisions(
        own_testset: tuple[Path, dict[str, np.ndarray], list[str]], tmp_path: Path) -> None:
    from edgekws.evaluate.runner import bundle_task, host_inputs, load_clips, tflm_predictions
    from edgekws.export.bundle import load_bundle
    from edgekws.tflm import TflmModel

    root, ts, names = own_testset
    b = load_bundle(DEFAULT)
    fe, labels, samples = bundle_task(b.meta, b.path)
    clips = load_clips(root, "test", labels, fe.sample_rate, samples)
    order = [names.index(e.path) for e in clips.examples]  # clips come sorted by path
    assert np.array_equal(clips.y, ts["y"][order])
    x = host_inputs(b.meta, fe, clips.audio).reshape(len(order), -1)
    want = ts["x_int8"].reshape(len(ts["y"]), -1)[order]
    words = clips.y != 0  # silence slots were float noise, stored rounded to int16: not bit-comparable
    assert words.sum() >= 100
    assert np.array_equal(x[words], want[words])
    ref = np.argmax(TflmModel(b.tflite_path).run_batch(list(want)), axis=-1)
    pred = tflm_predictions(b.tflite_path, x.reshape(-1, *b.meta["input"]["shape"][1:3]))
    assert np.array_equal(pred[words], ref[words])

    report = tmp_path / "report.json"
    shutil.copy(DEFAULT / "report.json", report)
    entry = evaluate_bundle(EvalConfig(bundle=DEFAULT, data=root, name="own", out=report, progress=False),
                            note=lambda m: None)
    assert entry["clips"] == len(ts["y"]) and entry["dataset"]["split_rule"] == "test-archive"
    assert entry["accuracy"]["correct"] == int((pred == clips.y).sum())
    kw = clips.y >= 2
    assert entry["keyword_accuracy"]["correct"] == int((pred[kw] == clips.y[kw]).sum())
    merged = json.loads(report.read_text())
    assert merged["evaluations"]["own"]["accuracy"] == entry["accuracy"]
    assert merged["accuracy"] == json.loads((DEFAULT / "report.json").read_text())["accuracy"]  # kept


def test_merge_keeps_other_entries_and_matching_device_figures(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"name": "m", "accuracy": {"int8": 0.9}}))
    base = {"bundle_hash": "h", "dataset": {"fingerprint": "f"}, "accuracy": {"correct": 1}}
    merge_evaluation(report, "a", {**base, "device": {"mps2_an500": {"clips": 3}}})
    merge_evaluation(report, "b", base)
    merge_evaluation(report, "a", {**base, "accuracy": {"correct": 2}})  # host rerun, same clips and model
    r = json.loads(report.read_text())
    assert r["accuracy"] == {"int8": 0.9} and set(r["evaluations"]) == {"a", "b"}
    assert r["evaluations"]["a"]["accuracy"] == {"correct": 2}
    assert r["evaluations"]["a"]["device"] == {"mps2_an500": {"clips": 3}}
    merge_evaluation(report, "a", {**base, "bundle_hash": "other"})  # another model: old device figures go
    assert "device" not in json.loads(report.read_text())["evaluations"]["a"]


def test_config_checks() -> None:
    with pytest.raises(DatasetError, match="unknown split"):
        EvalConfig(bundle=DEFAULT, data=Path("x"), split="dev")
    with pytest.raises(ConfigError, match="exclude"):
        EvalConfig(bundle=DEFAULT, data=Path("x"), emulate=True, port="socket://localhost:1")
    assert EvalConfig(bundle=DEFAULT, data=Path("/d/real_kws_dev")).dataset_name() == "real_kws_dev"
    assert EvalConfig(bundle=DEFAULT, data=Path("/d/sc"), split="val").dataset_name() == "sc-validation"
    assert EvalConfig(bundle=DEFAULT, data=Path("/d/sc"), limit=50).dataset_name() == "sc-subset50"


# ---- CLI: figures and bad input -------------------------------------------------------------------------


def test_cli_prints_figures_with_intervals(own_testset: tuple[Path, dict[str, np.ndarray], list[str]],
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _, _ = own_testset
    code, out, err = run(["evaluate", str(DEFAULT), "--data", str(root), "--no-merge", "--no-progress",
                          "--limit", "40"], capsys)
    assert code == 0, err
    assert "12-class accuracy" in out and "keyword-only accuracy" in out and "false accepts" in out
    assert ", 40 clips)" in out and " % [" in out  # every accuracy with its interval


@pytest.mark.parametrize("case", ["missing", "no_clips", "rate", "empty_split", "bad_split", "bad_bundle"])
def test_cli_bad_input_is_one_error_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, bundle, extra, want = tmp_path / "d", DEFAULT, [], ""
    if case == "missing":
        want = "does not exist"
    elif case == "no_clips":
        (data / "yes").mkdir(parents=True)
        (data / "yes" / "notes.txt").write_text("x")
        want = "no word folders"
    elif case == "rate":
        tone_archive(data)
        write_clip(data / "no" / "zz_nohash_0.wav", np.zeros(8000), rate=8000)
        want = "8000 Hz"
    elif case == "empty_split":
        tone_archive(data)
        extra, want = ["--split", "training"], "no clips"
    elif case == "bad_split":
        tone_archive(data)
        extra, want = ["--split", "dev"], "unknown split"
    else:
        tone_archive(data)
        bundle, want = tmp_path / "nobundle", "not a directory"
    code, out, err = run(["evaluate", str(bundle), "--data", str(data), "--no-merge", "--no-progress", *extra],
                         capsys)
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("reading clips")]
    assert code != 0 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and want in lines[0], lines[0]
    assert "Traceback" not in err + out


# ---- the real-speech dev set (evaluation only; absent on a user's machine) ------------------------------


@pytest.mark.skipif(not REAL_DEV.is_dir(), reason=f"real-speech dev set not found at {REAL_DEV} "
                    "(only on the development machine; users evaluate on the official test set)")
def test_default_bundle_on_the_real_speech_dev_set(tmp_path: Path) -> None:
    """All 640 clips (about 15 s). The figure committed in models/default/report.json must be what
    the bundle gives today, when it was measured on this bundle and these clips."""
    entry = evaluate_bundle(EvalConfig(bundle=DEFAULT, data=REAL_DEV, out=tmp_path / "r.json", progress=False),
                            note=lambda m: None)
    counts = entry["dataset"]["counts"]
    assert entry["clips"] == 640 and counts["_silence_"] == 40 and counts["_unknown_"] == 100
    assert all(counts[w] == 50 for w in KEYWORDS)
    assert entry["keyword_accuracy"]["n"] == 500 and entry["false_accepts"]["n"] == 140
    acc = entry["accuracy"]
    assert acc["ci_low"] < acc["accuracy"] < acc["ci_high"] and acc["ci_high"] - acc["ci_low"] < 0.1
    committed = (json.loads((DEFAULT / "report.json").read_text()).get("evaluations") or {}).get("real_kws_dev")
    if committed and committed.get("bundle_hash") == entry["bundle_hash"] \
            and committed["dataset"]["fingerprint"] == entry["dataset"]["fingerprint"]:
        assert committed["accuracy"] == acc and committed["confusion"] == entry["confusion"]


# ---- the comparison report shows real-speech accuracy beside the synthetic one --------------------------


def test_report_shows_evaluations_beside_synthetic_accuracy(tmp_path: Path) -> None:
    from edgekws.metrics import accuracy
    from edgekws.report import write_report
    from test_report_render import LABELS as R_LABELS
    from test_report_render import _report, _write

    y = np.array([0] * 10 + [1] * 10 + [2] * 20 + [3] * 20)
    pred = y.copy()
    pred[:3] = 2  # 3 silence clips taken for "yes": false accepts
    pred[20:31] = 1  # 11 "yes" clips missed
    ev = {**score(y, pred, R_LABELS), "dataset": {"clips": 60, "split": "testing", "split_rule": "lists",
                                                  "root": "../real"}, "runtime": "tflite-micro"}
    dev = {**score(y, y, R_LABELS)}
    with_eval = {**_report("dense", "none", 0.0, 0.90, 0.90),
                 "evaluations": {"real": {**ev, "device": {"mps2_an500": dev}}}}
    dirs = _write(tmp_path, [with_eval, _report("el80", "element", 0.8, 0.88, 0.85)])
    paths = write_report(dirs, tmp_path / "out")
    md = paths["markdown"].read_text()
    header = md.split("\n| ", 2)[1]
    cols = [c.strip() for c in header.split("|")]
    at = cols.index("int8 acc % (TFLM)")
    assert cols[at + 1:at + 4] == ["real int8 acc % [95 % CI]", "real keyword acc % [95 % CI]",
                                   "real false accepts %"]
    assert "real on mps2_an500 acc % [95 % CI]" in cols
    want = accuracy(46, 60).cell()
    kw = accuracy(29, 40).cell()
    # the synthetic int8 column carries its interval too (200 test clips in test_report_render's reports)
    assert f"| {accuracy(180, 200).cell()} | {want} | {kw} | 15.0 | {accuracy(60, 60).cell()} |" in md
    assert f"| {accuracy(170, 200).cell()} | - | - | - | - |" in md  # a model without the evaluation
    assert "Warden 2018" in md and "CC BY 4.0" in md
    for fig in ("synthetic_vs_real", "model0_confusion_eval0"):
        assert (tmp_path / "out" / "figures" / f"{fig}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"figures/{fig}.png" in md
    assert "real (60 clips): 76.7 % [" in md
    page = paths["html"].read_text()
    assert want in page and "Warden 2018" in page


def test_official_test_archive_unpacks_and_evaluates(tmp_path: Path) -> None:
    """The user's path: `data speech-commands --archive <test-set tar.gz>` then `evaluate --data`."""
    import tarfile

    from edgekws.data.download import fetch_speech_commands

    src = tone_archive(tmp_path / "src", per_word=2, words=tuple(KEYWORDS))
    archive = tmp_path / "speech_commands_test_set_v0.02.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in sorted(src.rglob("*.wav")):
            tar.add(p, arcname=f"./{p.relative_to(src)}")
    root = fetch_speech_commands(tmp_path / "sc_test", archive=archive)
    entry = evaluate_bundle(EvalConfig(bundle=DEFAULT, data=root, merge=False, progress=False), note=lambda m: None)
    assert entry["clips"] == 24 and entry["dataset"]["split_rule"] == "test-archive"
    assert entry["dataset"]["counts"]["_silence_"] == 2 and entry["keyword_accuracy"]["n"] == 20

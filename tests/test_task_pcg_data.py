"""PCG data (shared by the PCG tasks): the PhysioNet 2016 loader on folders written here (and its one-line
errors), the CirCor .tsv reader/writer and frame conversion, and the generator's determinism and ground truth."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgekws.audio import load_audio, write_wav
from edgekws.errors import AudioError, ConfigError, DatasetError
from edgekws.tasks.pcg import annotations as an
from edgekws.tasks.pcg import pcg_frontend
from edgekws.tasks.pcg import physionet as pn
from edgekws.tasks.pcg.synth import TRUTH, PcgSynthConfig, generate

TINY = PcgSynthConfig(normal_records=3, abnormal_records=3, seconds=4.0, seed=3)


def write_physionet(root: Path, rate: int = 4000) -> Path:
    """training-a (2 columns, 2 records) and training-b (3 columns with quality, 1 record) at ``rate`` Hz."""
    t = np.arange(rate) / rate
    for folder, lines in (("training-a", ["a0001,-1", "a0002,1"]), ("training-b", ["b0001,1,0"])):
        d = root / folder
        for line in lines:
            write_wav(d / f"{line.split(',')[0]}.wav", 0.3 * np.sin(2 * np.pi * 40 * t), rate)
        (d / pn.REFERENCE).write_text("\n".join(lines) + "\n")
    write_wav(root / "training-a" / "a0099.wav", 0.1 * t, rate)  # not in REFERENCE.csv: not a record
    return root


def test_loader_reads_the_layout_and_resamples(tmp_path: Path) -> None:
    recs = pn.index_physionet(write_physionet(tmp_path / "p"))
    assert [(r.record_id, r.label, r.subset, r.quality) for r in recs] == [
        ("a0001", -1, "training-a", None), ("a0002", 1, "training-a", None), ("b0001", 1, "training-b", 0)]
    assert [r.abnormal for r in recs] == [False, True, True]
    x = pn.load_record(recs[0], pcg_frontend().sample_rate)
    assert x.dtype == np.float32 and x.shape == (2000,)  # 1 s at 4 kHz -> 2 kHz
    assert 0.25 < float(np.max(np.abs(x))) < 0.35
    # the challenge's validation/ folder (copies of training records, same names) is not read as a subset
    (tmp_path / "p" / "validation").mkdir()
    (tmp_path / "p" / "validation" / pn.REFERENCE).write_text("a0001,-1\n")
    write_wav(tmp_path / "p" / "validation" / "a0001.wav", np.full(100, 0.1), 4000)
    assert [r.subset for r in pn.index_physionet(tmp_path / "p")] == ["training-a", "training-a", "training-b"]
    # one subset folder alone is read as that subset
    assert [r.record_id for r in pn.index_physionet(tmp_path / "p" / "training-b")] == ["b0001"]


@pytest.mark.parametrize(("edit", "match"), [
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("a0001,0\n"), r"REFERENCE.csv:1: label must be -1"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("a0001,-1,1,7\n"), r":1: expected 'record,label'"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("a0001,-1\na0001,1\n"), r":2: record a0001 is listed twice"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("a0001,abnormal\n"), r"must be integers"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("a0001,-1,5\n"), r"quality must be 0 or 1"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("../x,-1\n"), r"must be a bare file stem"),
    (lambda r: (r / "training-a" / pn.REFERENCE).write_text("\n\n"), r"no records"),
    (lambda r: (r / "training-a" / "a0002.wav").unlink(), r"record a0002 has no a0002.wav"),
    (lambda r: [(r / "training-b" / pn.REFERENCE).write_text("a0001,1\n"),
                write_wav(r / "training-b" / "a0001.wav", np.ones(100) * 0.1, 4000)], r"a0001 is also in training-a"),
])
def test_loader_errors_are_one_line(tmp_path: Path, edit, match: str) -> None:
    root = write_physionet(tmp_path / "p")
    edit(root)
    with pytest.raises(DatasetError, match=match) as exc:
        pn.index_physionet(root)
    assert "\n" not in str(exc.value)


def test_loader_refuses_missing_layout_and_low_rate(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no REFERENCE.csv in it or in any subfolder"):
        pn.index_physionet(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        pn.index_physionet(tmp_path / "nope")
    rec = pn.index_physionet(write_physionet(tmp_path / "p", rate=1000))[0]
    with pytest.raises(AudioError, match="1000 Hz is below the 2000 Hz"):
        pn.load_record(rec, 2000)


SEGS = [an.Segment(0.0, 0.1, 0), an.Segment(0.1, 0.22, 1), an.Segment(0.22, 0.5, 2), an.Segment(0.5, 0.6, 3),
        an.Segment(0.6, 1.0, 4)]


def test_tsv_round_trip_and_frames(tmp_path: Path) -> None:
    path = an.write_tsv(tmp_path / "r.tsv", SEGS)
    assert path.read_text().splitlines()[1] == "0.100000\t0.220000\t1"
    assert an.read_tsv(path) == SEGS
    states = an.frame_states(SEGS, 50, 0.02)
    # 0.00-0.10: 5 frames unannotated, 0.10-0.22: 6 frames S1, 0.22-0.50: 14 systole, 5 S2, 20 diastole
    assert np.bincount(states, minlength=5).tolist() == [5, 6, 14, 5, 20]
    assert states[4] == 0 and states[5] == 1 and states[11] == 2  # a boundary belongs to the later segment
    back = an.segments_from_states(states, 0.02)
    assert [(round(s.start, 6), round(s.end, 6), s.state) for s in back] == [(s.start, s.end, s.state) for s in SEGS]
    assert np.array_equal(an.frame_states(back, 50, 0.02), states)
    # the frontend's frames are sampled at their window centres (25 ms into each 50 ms window)
    fe = an.frontend_frame_states(SEGS, 48, pcg_frontend())
    assert np.array_equal(fe, an.frame_states(SEGS, 48, 0.02, 0.025))
    assert an.frame_states(SEGS, 60, 0.02)[50:].tolist() == [0] * 10  # past the last segment


@pytest.mark.parametrize(("text", "match"), [
    ("0.0\t0.1\t1\n0.05\t0.2\t2\n", r":2: segment 0.05 .. 0.2 starts before the previous one ends"),
    ("0.0\t0.1\t5\n", r":1: state must be one of 0-4"),
    ("0.0\t0.1\n", r":1: expected 'start<TAB>end<TAB>state'"),
    ("0.2\t0.1\t1\n", r"need 0 <= start < end"),
    ("a\t0.1\t1\n", r"must be numbers"),
    ("", r"no segments"),
])
def test_tsv_errors(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "r.tsv").write_text(text)
    with pytest.raises(DatasetError, match=match):
        an.read_tsv(tmp_path / "r.tsv")


def test_order_violations() -> None:
    assert an.order_violations(SEGS) == []
    swapped = [SEGS[0], SEGS[1], SEGS[3], SEGS[2], SEGS[4]]
    assert an.order_violations(swapped) == ["S1 at 0.100 s is followed by S2", "S2 at 0.500 s is followed by systole",
                                            "systole at 0.220 s is followed by diastole"]
    gap = [SEGS[1], an.Segment(0.3, 0.5, 2)]
    assert an.order_violations(gap) == ["gap of 0.080 s after S1 at 0.100 s"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", TINY)
    generate(tmp_path / "b", TINY)
    generate(tmp_path / "c", replace(TINY, seed=4))
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys() and a["training-a/a0001.wav"] != c["training-a/a0001.wav"]


def test_generator_truth(tmp_path: Path) -> None:
    cfg = replace(TINY, normal_records=4, abnormal_records=4, seconds=8.0, subsets=3)
    summary = generate(tmp_path / "d", cfg)
    assert summary["subsets"] == ["training-a", "training-b", "training-c"]
    recs = pn.index_physionet(tmp_path / "d")
    truth = json.loads((tmp_path / "d" / TRUTH).read_text())
    assert truth["config"] == {**cfg.__dict__} and sorted(truth["records"]) == sorted(r.record_id for r in recs)
    assert sum(r.abnormal for r in recs) == 4 and len(recs) == 8
    rates: list[float] = []
    for r in recs:
        t = truth["records"][r.record_id]
        assert (t["label"] == 1) == r.abnormal and bool(t["kinds"]) == r.abnormal
        x = load_audio(r.path, cfg.sample_rate)
        assert len(x) == 8 * cfg.sample_rate
        segs = an.read_tsv(r.path.with_suffix(".tsv"))
        # the annotation tiles the recording: no gap, no overlap, cycle order S1 -> systole -> S2 -> diastole
        assert segs[0].start == 0.0 and segs[-1].end == cfg.seconds
        assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(segs, segs[1:], strict=False))
        assert an.order_violations(segs) == [] and 0 not in {s.state for s in segs}
        rr = 60.0 / t["heart_rate_bpm"]
        beats = [i for i, s in enumerate(segs) if s.state == an.S1 and 0 < i < len(segs) - 4]
        assert abs(len([s for s in segs if s.state == an.S1]) - cfg.seconds / rr) <= 2
        rates.append(t["heart_rate_bpm"])
        for i in beats:
            s1, systole, s2 = segs[i], segs[i + 1], segs[i + 2]
            assert 0.08 < s1.end - s1.start < 0.16 and s2.end - s2.start < 0.2 and systole.end - systole.start > 0.029
            # systole (S1 onset -> S2 onset) = 0.30 * sqrt(this beat's RR), within its jitter (2 %, clipped at 2.5 sd)
            beat_rr = segs[i + 4].start - s1.start
            assert abs((s2.start - s1.start) - 0.30 * np.sqrt(beat_rr)) < 0.051 * 0.30 * np.sqrt(beat_rr)
    assert min(rates) < 60 and max(rates) > 85  # the draw covers slow and fast hearts (systole's scaling is tested)


def test_sounds_sit_where_the_annotation_says(tmp_path: Path) -> None:
    """With no noise the S1/S2 frames carry the energy and a systolic murmur fills systole: audio and truth agree."""
    quiet = replace(TINY, normal_records=2, abnormal_records=8, breathing_level=0.0, motion_rate=0.0, noise_level=0.0)
    generate(tmp_path / "q", quiet)
    truth = json.loads((tmp_path / "q" / TRUTH).read_text())["records"]
    fe = pcg_frontend()
    murmurs = 0
    for r in pn.index_physionet(tmp_path / "q"):
        x = load_audio(r.path, fe.sample_rate)
        hop = fe.hop_length
        frames = len(x) // hop
        energy = np.array([np.mean(x[i * hop:(i + 1) * hop] ** 2) for i in range(frames)])
        states = an.frame_states(an.read_tsv(r.path.with_suffix(".tsv")), frames, hop / fe.sample_rate,
                                 hop / fe.sample_rate / 2)
        sounds = energy[(states == an.S1) | (states == an.S2)].mean()
        quiet_parts = energy[(states == an.SYSTOLE) | (states == an.DIASTOLE)].mean()
        systole, diastole = energy[states == an.SYSTOLE].mean(), energy[states == an.DIASTOLE].mean()
        kinds = truth[r.record_id]["kinds"]
        if not r.abnormal:
            assert sounds > 20 * quiet_parts, r.record_id
        # a murmur (or S3) puts energy where the truth says it is, and only there
        if "systolic_murmur" in kinds:
            murmurs += 1
            assert systole > 0.02 * sounds, r.record_id
        else:
            assert systole < 0.01 * sounds, r.record_id
        if {"diastolic_murmur", "s3"} & set(kinds):
            assert diastole > 0.005 * sounds, r.record_id
        else:
            assert diastole < 0.001 * sounds, r.record_id
    assert murmurs >= 1


def test_config_errors() -> None:
    for kw, match in (({"seconds": 1.0}, "seconds must lie"), ({"hr_min": 130.0, "hr_max": 100.0}, "hr_min"),
                      ({"normal_records": 0, "abnormal_records": 0}, "at least 1"), ({"subsets": 7}, "subsets"),
                      ({"noise_level": -1.0}, "must be >= 0")):
        with pytest.raises(ConfigError, match=match):
            PcgSynthConfig(**kw)

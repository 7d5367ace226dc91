"""`edgekws data summary` output and bad inputs: one-line errors, non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgekws.cli import main
from test_data_loader import write_dataset


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("cli") / "sc", speakers=6)


def test_summary_prints_counts_and_features(dataset, tmp_path, capsys):
    code, out, _ = run(["data", "summary", str(dataset), "--preset", "kws-mfcc-49x10",
                        "--cache-dir", str(tmp_path / "c"), "--json", str(tmp_path / "s.json")], capsys)
    assert code == 0
    for word in ("_silence_", "_unknown_", "yes", "go", "training", "validation", "testing", "49x10"):
        assert word in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["splits"]["training"]["features"]["shape"][1:] == [49, 10]
    assert list(tmp_path.joinpath("c").glob("*.npz"))


def _bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    corrupt = write_dataset(tmp_path / "corrupt", words=("yes",), speakers=2)
    (corrupt / "yes" / "0bad0bad_nohash_0.wav").write_bytes(b"RIFF\x00\x00not audio")
    return [
        (["data", "summary", str(tmp_path / "missing")], "does not exist"),
        (["data", "summary", str(tmp_path / "empty")], "no word folders"),
        (["data", "summary", str(corrupt), "--split-source", "lists", "--no-features"], "validation_list.txt"),
        (["data", "summary", str(corrupt), "--split-source", "hash", "--cache-dir", str(tmp_path / "c")],
         "0bad0bad_nohash_0.wav"),
        (["data", "summary", str(corrupt), "--split-source", "bogus"], "split_source"),
        (["data", "summary", str(corrupt), "--preset", "no-such-preset"], "no-such-preset"),
        (["data", "synth", "--out", str(tmp_path / "s"), "--per-word", "0"], "per_word"),
    ]


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    for argv, message in _bad_inputs(tmp_path):
        code, _, err = run(argv, capsys)
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("features")]
        assert code != 0, argv
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (argv, err)


def test_console_script_exit_code(tmp_path):
    """The installed entry point, as a user runs it: one line on stderr, non-zero status."""
    exe = os.path.join(os.path.dirname(sys.executable), "edgekws")
    proc = subprocess.run([exe, "data", "summary", str(tmp_path / "nope")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"error: dataset directory {tmp_path / 'nope'} does not exist"]

"""Bad inputs for the CLI sweep (tests/test_cli_sweep.py) and benchmarks/robustness.py.

Why a module: the table of cases is data that both the test and the robustness
benchmark run, so the figures in the benchmark are exactly what CI checks.
Every input is generated here (no downloads): broken WAVs, datasets with
missing pieces, bundles with one thing corrupted each, and two misbehaving
"devices" on localhost (one that accepts and never answers, one real device
server that stops answering mid-run).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekws.device.protocol import Cmd, Frame, FrameReader

REPO = Path(__file__).resolve().parents[1]
EDGEKWS = REPO / ".venv" / "bin" / "edgekws"


@dataclass(frozen=True)
class Case:
    """One bad input: the CLI arguments, and what a clean failure must look like.

    ``argv`` may use ``{w}`` (the world directory of inputs), ``{b}`` (a valid tiny bundle),
    ``{m}`` (a valid bundle on the default 49x10 MFCC frontend), ``{silent}`` / ``{stalls}``
    / ``{stalls_early}`` (pyserial URLs of the misbehaving devices). Outputs are written into the case's own empty
    directory (the cwd), which must hold nothing new afterwards except ``partial_ok`` files,
    which must then be complete JSON/JSONL. ``expect="ok"`` marks an input that is accepted by
    design (e.g. an 8 kHz WAV is resampled). ``bug`` names a known bug (strict xfail).
    """

    id: str
    area: str
    argv: tuple[str, ...]
    expect: str = "error"
    partial_ok: tuple[str, ...] = ()
    bug: str | None = None
    needs: tuple[str, ...] = field(default=())  # "mfcc", "devices"


def cases() -> list[Case]:
    """The sweep table."""
    return [
        # audio files
        Case("wav-corrupt", "audio", ("frontend", "features", "{w}/corrupt.wav", "-o", "f.npy")),
        Case("wav-header-only", "audio", ("frontend", "features", "{w}/header_only.wav", "-o", "f.npy")),
        Case("wav-truncated-data-too-short", "audio", ("frontend", "features", "{w}/trunc_short.wav", "-o", "f.npy")),
        Case("wav-empty", "audio", ("frontend", "features", "{w}/empty.wav", "-o", "f.npy")),
        Case("wav-nan", "audio", ("frontend", "features", "{w}/nan.wav", "-o", "f.npy")),
        Case("wav-inf", "audio", ("frontend", "features", "{w}/inf.wav", "-o", "f.npy")),
        Case("wav-missing", "audio", ("frontend", "features", "{w}/no_such.wav", "-o", "f.npy")),
        Case("wav-is-a-directory", "audio", ("frontend", "features", "{w}", "-o", "f.npy")),
        Case("wav-rate-48k-too-short-after-resampling", "audio",
             ("frontend", "features", "{w}/rate48k_short.wav", "-o", "f.npy")),
        Case("wav-rate-8k-resampled", "audio", ("frontend", "features", "{w}/rate8k.wav", "-o", "f.npy"),
             expect="ok"),
        Case("frontend-json-rate-zero", "audio", ("frontend", "features", "{w}/good.wav", "-p", "{w}/rate0.json")),
        Case("frontend-json-corrupt", "audio", ("frontend", "features", "{w}/good.wav", "-p", "{w}/corrupt.json")),
        Case("frontend-preset-unknown", "audio", ("frontend", "show", "no-such-preset")),
        Case("stream-run-corrupt-wav", "audio", ("stream", "run", "{w}/corrupt.wav", "-b", "{m}", "-o", "d.json"),
             needs=("mfcc",)),
        Case("stream-run-nan-wav", "audio", ("stream", "run", "{w}/nan.wav", "-b", "{m}", "-o", "d.json"),
             needs=("mfcc",)),
        Case("listen-corrupt-wav", "audio", ("listen", "{w}/corrupt.wav", "-b", "{m}"), needs=("mfcc",)),
        # datasets
        Case("dataset-empty-folder", "data", ("data", "summary", "{w}/empty_ds", "--json", "s.json")),
        Case("dataset-missing-folder", "data", ("data", "summary", "{w}/no_such_ds", "--json", "s.json")),
        Case("dataset-missing-split-files", "data",
             ("data", "summary", "{w}/ds", "--split-source", "lists", "--no-features", "--json", "s.json")),
        Case("dataset-unknown-split-source", "data",
             ("data", "summary", "{w}/ds", "--split-source", "bogus", "--no-features")),
        Case("dataset-corrupt-clip", "data",
             ("data", "summary", "{w}/ds_corrupt", "--cache-dir", "{w}/cache", "--json", "s.json")),
        Case("train-empty-dataset", "data", ("train", "ds-cnn-s", "--data", "{w}/empty_ds", "--out", "bundle_out")),
        Case("train-unknown-recipe", "data", ("train", "no-such-recipe", "--data", "{w}/ds", "--out", "bundle_out")),
        Case("stream-generate-empty-dataset", "data", ("stream", "generate", "--data", "{w}/empty_ds", "-o", "g")),
        # bundles and models
        Case("tflite-truncated", "bundle", ("export", "c", "{w}/b_tflite_trunc", "gen")),
        Case("tflite-random-bytes", "bundle", ("export", "c", "{w}/b_tflite_random", "gen")),
        Case("bundle-json-truncated", "bundle", ("export", "c", "{w}/b_json_trunc", "gen")),
        Case("bundle-json-not-object", "bundle", ("export", "c", "{w}/b_json_list", "gen")),
        Case("bundle-json-labels-wrong-type", "bundle", ("export", "c", "{w}/b_labels", "gen")),
        Case("bundle-schema-version-mismatch", "bundle", ("export", "c", "{w}/b_schema", "gen")),
        Case("bundle-schema-version-mismatch-listen", "bundle", ("listen", "{w}/good.wav", "-b", "{w}/b_schema")),
        Case("bundle-hash-mismatch", "bundle", ("stream", "run", "{w}/good.wav", "-b", "{w}/b_hash", "-o", "d.json")),
        Case("bundle-missing-folder", "bundle", ("export", "c", "{w}/no_such_bundle", "gen")),
        Case("bundle-corrupt-tflite-quantize", "bundle", ("quantize", "{w}/b_tflite_trunc", "--out", "q")),
        Case("bundle-corrupt-report", "bundle", ("report", "{w}/b_json_trunc", "--out", "r")),
        Case("model-too-big-for-board-arena", "bundle", ("export", "c", "{b}", "gen", "--max-arena-kb", "1")),
        Case("export-bad-option-value", "bundle", ("export", "c", "{b}", "gen", "--selftest", "0")),
        # boards, firmware, devices
        Case("board-unknown-build", "device", ("firmware", "build", "--board", "no_such_board", "--bundle", "{b}",
                                               "--out", "fw")),
        Case("board-unknown-memory", "device", ("firmware", "memory", "--board", "no_such_board", "{w}/good.wav")),
        Case("elf-not-an-elf", "device", ("firmware", "memory", "{w}/good.wav")),
        Case("port-does-not-exist", "device", ("bench", "--port", "/dev/ttyEDGEKWS_NONE", "--bundle", "{b}",
                                               "--no-progress", "--out", "rep.json")),
        Case("port-connection-refused", "device", ("bench", "--port", "socket://127.0.0.1:1", "--bundle", "{b}",
                                                   "--no-progress", "--out", "rep.json")),
        Case("bench-unknown-mode", "device", ("bench", "--port", "/dev/ttyEDGEKWS_NONE", "--bundle", "{b}",
                                              "--mode", "nonsense", "--no-progress")),
        Case("device-silent", "device", ("bench", "--port", "{silent}", "--bundle", "{b}", "--no-progress",
                                         "--timeout", "0.3", "--retries", "1", "--out", "rep.json", "--jsonl",
                                         "items.jsonl"), partial_ok=("rep.json", "items.jsonl"), needs=("devices",)),
        Case("device-stops-mid-run", "device", ("bench", "--port", "{stalls}", "--bundle", "{b}", "--mode",
                                                "accuracy", "--no-progress", "--timeout", "0.3", "--retries", "1",
                                                "--out", "rep.json", "--jsonl", "items.jsonl"),
             partial_ok=("rep.json", "items.jsonl"), needs=("devices",)),
        Case("device-stops-before-first-item", "device", ("bench", "--port", "{stalls_early}", "--bundle", "{b}",
                                                          "--mode", "accuracy", "--no-progress", "--timeout", "0.3",
                                                          "--retries", "1", "--out", "rep.json", "--jsonl",
                                                          "items.jsonl"),
             partial_ok=("rep.json", "items.jsonl"), needs=("devices",)),
    ]


# ---------------------------------------------------------------- inputs

def _wav(path: Path, rate: int = 16000, data: bytes | None = None) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        if data is None:
            t = np.arange(rate) / rate
            data = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
        w.writeframes(data)


def _float_wav(path: Path, x: np.ndarray, rate: int = 16000) -> None:
    d = np.asarray(x, "<f4").tobytes()
    hdr = (b"RIFF" + struct.pack("<I", 36 + len(d)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 3, 1, rate, rate * 4, 4, 32)
           + b"data" + struct.pack("<I", len(d)))
    path.write_bytes(hdr + d)


def _edit_json(path: Path, **changes: object) -> None:
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def make_world(w: Path, bundle: Path) -> Path:
    """Write every bad input under ``w``; ``bundle`` is a valid bundle to corrupt copies of."""
    w.mkdir(parents=True, exist_ok=True)
    _wav(w / "good.wav")
    good = (w / "good.wav").read_bytes()
    (w / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)))
    (w / "header_only.wav").write_bytes(good[:30])
    (w / "trunc_short.wav").write_bytes(good[:44 + 200])  # data chunk cut to 100 samples: shorter than a window
    _wav(w / "empty.wav", data=b"")
    _wav(w / "rate8k.wav", rate=8000)
    _wav(w / "rate48k_short.wav", rate=48000, data=np.ones(900, "<i2").tobytes())
    _float_wav(w / "nan.wav", np.full(16000, np.nan))
    x = np.zeros(16000)
    x[100] = np.inf
    _float_wav(w / "inf.wav", x)
    (w / "rate0.json").write_text(json.dumps({"name": "bad", "sample_rate": 0}))
    (w / "corrupt.json").write_text('{"name": "bad", "sample_rate": ')
    (w / "empty_ds").mkdir(exist_ok=True)
    for word in ("yes", "no"):
        (w / "ds" / word).mkdir(parents=True, exist_ok=True)
        (w / "ds" / word / "a_nohash_0.wav").write_bytes(good)
    (w / "ds_corrupt" / "yes").mkdir(parents=True, exist_ok=True)
    (w / "ds_corrupt" / "yes" / "a_nohash_0.wav").write_bytes(good)
    (w / "ds_corrupt" / "yes" / "b_nohash_0.wav").write_bytes((w / "corrupt.wav").read_bytes())

    def copy(name: str) -> Path:
        d = w / name
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(bundle, d)
        return d

    tfl = (bundle / "model.tflite").read_bytes()
    (copy("b_tflite_trunc") / "model.tflite").write_bytes(tfl[:100])
    (copy("b_tflite_random") / "model.tflite").write_bytes(np.random.default_rng(0).bytes(len(tfl)))
    meta_text = (bundle / "bundle.json").read_text()
    (copy("b_json_trunc") / "bundle.json").write_text(meta_text[: len(meta_text) // 3])
    (copy("b_json_list") / "bundle.json").write_text("[1, 2, 3]")
    _edit_json(copy("b_labels") / "bundle.json", labels="yes,no")
    _edit_json(copy("b_schema") / "bundle.json", schema_version=99)
    _edit_json(copy("b_hash") / "bundle.json", name="renamed-by-hand")
    return w


# ---------------------------------------------------------------- misbehaving devices

class SilentDevice:
    """A localhost TCP server that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"socket://127.0.0.1:{self.sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                c, _ = self.sock.accept()
                self._conns.append(c)  # held open, never answered

    def close(self) -> None:
        for c in [*self._conns, self.sock]:
            with contextlib.suppress(OSError):
                c.close()


class StallingProxy:
    """Forwards to a real device server, then goes silent (connection kept open) after ``after``
    host-to-device chunks: a device that stops answering in the middle of a run.

    The stall lands on the first request after that point whose reply deadline is the bench's
    ``--timeout``: a request the host gives the inference deadline (INFER, LAYER_CHECK, SELFTEST:
    120 s per try) is still answered, else one case would wait four minutes for the same verdict."""

    #: requests the host waits the inference deadline for, not --timeout
    LONG_DEADLINE = frozenset({Cmd.INFER, Cmd.LAYER_CHECK, Cmd.SELFTEST})

    def __init__(self, device_port: int, after: int) -> None:
        self.device_port, self.after = device_port, after
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"socket://127.0.0.1:{self.sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.sock.accept()
                dev = socket.create_connection(("127.0.0.1", self.device_port))
                self._conns += [client, dev]
                state = {"up": 0, "stalled": 0}
                threading.Thread(target=self._up, args=(client, dev, state), daemon=True).start()
                threading.Thread(target=self._down, args=(client, dev, state), daemon=True).start()

    def _up(self, client: socket.socket, dev: socket.socket, state: dict[str, int]) -> None:
        reader = FrameReader()
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                cmds = {f.cmd for f in reader.feed(data) if isinstance(f, Frame)}
                if state["up"] >= self.after and not cmds & self.LONG_DEADLINE:
                    state["stalled"] = 1
                state["up"] += 1
                if not state["stalled"]:
                    dev.sendall(data)
        # the host hung up: free the device (the host board serves one client at a time)
        for s in (dev, client):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _down(self, client: socket.socket, dev: socket.socket, state: dict[str, int]) -> None:
        with contextlib.suppress(OSError):
            while data := dev.recv(65536):
                if not state["stalled"]:
                    client.sendall(data)

    def close(self) -> None:
        for c in [*self._conns, self.sock]:
            with contextlib.suppress(OSError):
                c.close()


@contextlib.contextmanager
def devices(bundle: Path, work: Path, cc: str = "gcc") -> Iterator[dict[str, str]]:
    """``{"silent": url, "stalls": url}``; the stalling one fronts the real device server (host board)."""
    sys.path.insert(0, str(REPO / "tests"))
    from protocol_hostdev import HostDevice, build_host_device

    gen = work / "gen"
    subprocess.run([str(EDGEKWS), "export", "c", str(bundle), str(gen)], check=True, capture_output=True)
    exe = build_host_device(cc, gen, work / "edgekws-host", sanitize=False)
    silent = SilentDevice()
    with HostDevice(exe) as dev:
        stall = StallingProxy(dev.port, after=30)  # after ~7 test items
        early = StallingProxy(dev.port, after=8)  # after the setup requests, before the first item
        try:
            yield {"silent": silent.url, "stalls": stall.url, "stalls_early": early.url}
        finally:
            for d in (stall, early, silent):
                d.close()


# ---------------------------------------------------------------- running one case

@dataclass
class Outcome:
    """What a case did, and whether that is a clean failure."""

    case: str
    exit_code: int
    stderr: str
    stdout: str
    leftovers: list[str]
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.problems


def fill(case: Case, subs: dict[str, str]) -> list[str]:
    return [a.format(**subs) for a in case.argv]


def _check(case: Case, code: int, out: str, err: str, cwd: Path) -> Outcome:
    problems = []
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.lstrip().startswith(("features", "I0000", "W0000"))]
    leftovers = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*") if p.name not in case.partial_ok
                       and not any(str(p.relative_to(cwd)).startswith(ok) for ok in case.partial_ok))
    if "Traceback" in err or "Traceback" in out:
        problems.append("traceback")
    if case.expect == "ok":
        if code != 0:
            problems.append(f"exit {code} for an accepted input")
    else:
        if code == 0:
            problems.append("exit 0")
        errors = [ln for ln in lines if ln.startswith("error: ")]
        if len(errors) != 1:
            problems.append(f"{len(errors)} 'error:' lines (stderr: {err.strip()[-300:]!r})")
        elif "internal error" in errors[0]:
            problems.append(f"internal error: {errors[0]}")
        if not err.rstrip().splitlines() or not err.rstrip().splitlines()[-1].startswith("error: "):
            problems.append("last stderr line is not 'error: ...'")
        if leftovers:
            problems.append(f"left files behind: {leftovers}")
    for name in case.partial_ok:
        p = cwd / name
        if "partial results in" in err and name in err.split("partial results in", 1)[1] and not p.exists():
            problems.append(f"the error names {name} as holding partial results, but it does not exist")
        if p.exists():
            text = p.read_text()
            try:
                if name.endswith(".jsonl"):
                    [json.loads(ln) for ln in text.splitlines() if ln.strip()]
                else:
                    json.loads(text)
            except ValueError:
                problems.append(f"{name} is half-written")
    return Outcome(case.id, code, err, out, leftovers, problems)


def run_subprocess(case: Case, subs: dict[str, str], cwd: Path, timeout: float = 300) -> Outcome:
    """Run the case as ``.venv/bin/edgekws ARGS`` in ``cwd``."""
    env = dict(os.environ)
    env.pop("EDGEKWS_DEBUG", None)
    proc = subprocess.run([str(EDGEKWS), *fill(case, subs)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    return _check(case, proc.returncode, proc.stdout, proc.stderr, cwd)


def run_inprocess(case: Case, subs: dict[str, str], cwd: Path) -> Outcome:
    """Run the case through ``edgekws.cli.main`` in this process (fast: one import of everything)."""
    from edgekws.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(fill(case, subs))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(old)
    return _check(case, code, out.getvalue(), err.getvalue(), cwd)

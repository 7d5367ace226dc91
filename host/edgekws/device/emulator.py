"""Run firmware on the emulated Cortex-M7: QEMU ``mps2-an500``.

Why QEMU with ``-icount``: QEMU is not cycle-accurate and does not model DWT
CYCCNT, but with ``-icount shift=N,sleep=off`` its virtual clock advances
exactly 2^N ns per executed instruction and never with host time (sleep=off:
an idle guest jumps to its next timer deadline instead of waiting in real
time), so the firmware's timer-based counter gives an exact, repeatable
*instruction* count (never reported as cycles), to 1 instruction at N = 8
(firmware/src/board/mps2_an500/board.c). The shift must be the one the
firmware was built for (firmware/build_config.py, EDGEKWS_ICOUNT_SHIFT);
:func:`edgekws.device.build.icount_shift` reads it.

The UART goes to stdio (the self-test: read the report, get the exit status
from semihosting) or to a TCP socket that the same pyserial client used for a
board opens as ``socket://127.0.0.1:PORT``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from edgekws.errors import DeviceError, FirmwareError

QEMU = "qemu-system-arm"
MACHINE = "mps2-an500"
EXIT_PASS = 0
EXIT_MISMATCH = 1
EXIT_FAULT = 70  # board_mps2.h EDGEKWS_EXIT_FAULT


def qemu_path() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise FirmwareError(f"{QEMU} is not installed (apt-get install qemu-system-arm)")
    return path


def qemu_command(elf: str | Path, *, serial: str, icount_shift: int, extra: Sequence[str] = ()) -> list[str]:
    """The QEMU command line for ``elf`` with the UART on ``serial`` (a QEMU -serial spec).

    ``extra``: more QEMU options, e.g. ``("-trace", "mps2_fpgaio_write")`` to see the EEMBC
    energy-mode timestamp pin (its trace lines land on QEMU's stderr).
    """
    return [
        qemu_path(), "-machine", MACHINE, "-nographic", "-monitor", "none",
        "-serial", serial,
        "-semihosting-config", "enable=on,target=native",
        "-icount", f"shift={icount_shift},sleep=off",
        *extra,
        "-kernel", str(elf),
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """QEMU running one firmware image; a context manager.

    ``serial='tcp'``: the UART listens on a localhost port (``port``, or a free one; ``.url`` is
    ``socket://127.0.0.1:PORT``); the guest starts only once a client connects,
    so no output is lost. ``serial='stdio'``: the UART output is collected in
    ``.output``. ``.wait(timeout)`` returns QEMU's exit code, which is the
    firmware's semihosting exit status.
    """

    def __init__(self, elf: str | Path, *, serial: str = "tcp", icount_shift: int | None = None,
                 port: int | None = None, start_timeout: float = 10.0, extra: Sequence[str] = ()) -> None:
        if serial not in ("tcp", "stdio"):
            raise ValueError("serial must be 'tcp' or 'stdio'")
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise FirmwareError(f"{self.elf}: no such firmware ELF")
        if icount_shift is None:
            from edgekws.device.build import icount_shift as board_shift

            icount_shift = board_shift("mps2_an500")
        self.serial = serial
        self.icount_shift = icount_shift
        self.start_timeout = start_timeout
        self.fixed_port = port
        self.extra = tuple(extra)
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._out = bytearray()
        self._err = bytearray()
        self._threads: list[threading.Thread] = []
        self.command: list[str] = []

    # -- lifecycle
    def start(self) -> Emulator:
        for _attempt in range(3):
            if self.serial == "tcp":
                self.port = self.fixed_port or _free_port()
                spec = f"tcp:127.0.0.1:{self.port},server=on,wait=on"
            else:
                spec = "stdio"
            self.command = qemu_command(self.elf, serial=spec, icount_shift=self.icount_shift, extra=self.extra)
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
            self._out.clear()
            self._err.clear()
            self._threads = [self._pump(self.proc.stdout, self._out), self._pump(self.proc.stderr, self._err)]
            if self.serial == "stdio" or self._wait_listening():
                return self
            self.stop()  # port taken between probe and bind: try another
            if self.fixed_port:
                break
        raise DeviceError(f"QEMU did not start: {self.stderr.strip()[:200] or 'no listening socket'}")

    def _pump(self, stream: Any, sink: bytearray) -> threading.Thread:
        def run() -> None:
            for chunk in iter(lambda: stream.read1(4096), b""):
                sink.extend(chunk)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def _wait_listening(self) -> bool:
        """True once QEMU says it waits for the serial client."""
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if b"waiting for connection" in self._err:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for thread in self._threads:
            thread.join(timeout=30)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- results
    @property
    def url(self) -> str:
        if self.port is None:
            raise DeviceError("the emulator's UART is not on TCP (serial='stdio')")
        return f"socket://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self._out.decode("utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self._err.decode("utf-8", errors="replace")

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """QEMU's exit code (the firmware's exit status); DeviceError after ``timeout`` seconds."""
        if self.proc is None:
            raise DeviceError("the emulator was not started")
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise DeviceError(f"firmware did not finish within {timeout:g} s in QEMU") from exc
        for thread in self._threads:
            thread.join(timeout=30)
        return code


@contextlib.contextmanager
def exit_cleanly_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Turn SIGTERM / SIGHUP into ``SystemExit(128 + signum)`` while the block runs.

    Why: Python's default action for these signals ends the process at once, without unwinding, so an
    ``Emulator`` context never reaches ``stop()`` and QEMU (its own process, busy-looping the guest) keeps
    running after ``kill``, a closed terminal or a service manager's stop. Raising instead lets every
    ``with Emulator(...)`` terminate its QEMU on the way out; the exit status is the shell's 128 + signum.
    Only the main thread can install handlers; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# ------------------------------------------------------------------ self-test report

_KV = re.compile(r"(\w+)=(\S+)")


def _kv(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _KV.findall(text):
        out[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return out


def parse_selftest(text: str) -> dict[str, Any]:
    """Parse the firmware's self-test report (see firmware/src/app/selftest.c).

    A failing vector names what differed first: ``layer``/``name``/``op``/``backend`` with the CRC-32
    ``crc``/``want`` (hex strings) of that layer's output tensor, or ``logit``/``got``/``want``, or the
    output (``mismatched``/``first``/``got``/``want``). ``check`` in the begin line is "layers" when the
    image compares every layer (an image exported before that says "none" and fails).

    Returns ``{"model", "board", "unit", "vectors": [{index, status, count, ...}],
    "layers": [{index, op, backend, name, count}], "memory": {...}, "result": "pass"|"fail"|None,
    "count": total of the last inference, "fault": line or None}``.
    """
    report: dict[str, Any] = {"vectors": [], "layers": [], "memory": {}, "result": None, "fault": None,
                              "unit": None, "count": None, "check": None, "layer_mismatches": None}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("selftest begin"):
            kv = _kv(line)
            report["n_vectors"] = kv.pop("vectors", None)
            report["n_layers"] = kv.pop("layers", None)
            report["check"] = kv.pop("check", None)
            report.update(kv)
        elif line.startswith("layer "):
            parts = line.split()
            if len(parts) >= 4 and parts[1].isdigit():
                kv = _kv(line)
                report["layers"].append({"index": int(parts[1]), "op": parts[2], "backend": parts[3],
                                         "name": kv.get("name"), "count": kv.get(report["unit"] or "", None)})
        elif line.startswith("selftest vector "):
            parts = line.split()
            if len(parts) >= 4 and parts[2].isdigit():
                kv = _kv(line)
                entry = {"index": int(parts[2]), "status": parts[3], "count": kv.pop(report["unit"] or "", None)}
                entry.update(kv)
                report["vectors"].append(entry)
        elif line.startswith("stream layer "):  # one streaming-incremental step (EDGEKWS_STREAMABLE images)
            parts = line.split()
            if len(parts) >= 5 and parts[2].isdigit():
                kv = _kv(line)
                report.setdefault("stream_layers", []).append(
                    {"index": int(parts[2]), "op": parts[3], "backend": parts[4], "name": kv.get("name"),
                     "count": kv.get(report["unit"] or "", None)})
        elif line.startswith("stream step"):
            kv = _kv(line)
            count = kv.pop(report["unit"] or "", None)
            report["stream_step"] = {**kv, "count": count}
        elif line.startswith("memory "):
            report["memory"] = _kv(line)
        elif line.startswith("selftest result "):
            report["result"] = line.split()[2]
            kv = _kv(line)
            report["count"] = kv.get(report["unit"] or "")
            report["layer_mismatches"] = kv.get("layer_mismatches")
        elif line.startswith("fault "):
            report["fault"] = line
    return report


def run_selftest(elf: str | Path, *, timeout: float = 300.0, icount_shift: int | None = None) -> dict[str, Any]:
    """Run a self-test image (built with ``selftest_only=True``) in QEMU and parse its report.

    The result has ``exit_code``, ``passed`` (exit code 0 and a "pass" result
    line) and everything :func:`parse_selftest` returns, plus ``qemu_command``
    and the raw ``output``.
    """
    emu = Emulator(elf, serial="stdio", icount_shift=icount_shift)
    with emu:
        code = emu.wait(timeout)
    report = parse_selftest(emu.output)
    report["exit_code"] = code
    # Only an image that compared every layer can pass (check=layers): outputs alone prove little.
    report["passed"] = code == EXIT_PASS and report["result"] == "pass" and report["check"] == "layers"
    report["icount_shift"] = emu.icount_shift
    report["qemu_command"] = emu.command
    report["output"] = emu.output
    return report


def record_selftest_in_report(bundle_dir: str | Path, report: dict[str, Any]) -> Path:
    """The self-test's figures into the bundle's report.json under ``firmware_selftest[board]``.

    The unit travels with every figure ("instructions" from QEMU, "cycles" from a board).
    """
    from edgekws.device.memory import merge_into_report

    entry = {
        "passed": report["passed"],
        "unit": report["unit"],
        "per_inference": report["count"],
        "vectors": len(report["vectors"]),
        "layers": [{k: layer[k] for k in ("index", "name", "op", "backend", "count")} for layer in report["layers"]],
        "memory": report["memory"],
    }
    if report.get("icount_shift") is not None:
        entry["icount_shift"] = report["icount_shift"]
    return merge_into_report(bundle_dir, "firmware_selftest", report.get("board") or "unknown", entry)


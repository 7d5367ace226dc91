"""A client that drives a device the way the MLPerf Tiny runner (mlcommons/tiny benchmark/runner) does.

Written from the runner's observable behaviour, in this project's words, so that tests hold the firmware to
what the unmodified runner will do with it, without running the runner itself (it needs a USB device scan,
a dataset tree and a power board for some modes):

* the port: pyserial at the DUT's baud, read one byte at a time on a thread; ``\\r`` and ``\\0`` are
  dropped, ``\\n`` ends a line, and an empty line is never queued;
* a command is its text followed by ``%``; its answer is every line up to and including the first that
  *contains* ``m-ready`` (a substring test, as the runner's); 5 s per line, 30 s for ``infer``; an answer of
  exactly one line comes back as a string, otherwise as a list (so a one-line answer is iterated by
  character, as in the runner);
* ``name``: a line ``m-name-dut-[NAME]``; ``profile``: ``m-profile-[...]`` and ``m-model-[...]``;
* a download: ``db load N``, then ``db HEX`` with 31 bytes per command (26 when a power board is used);
* ``infer N W``, and its lines parsed as the runner parses them: the ``m-results-[...]`` values as floats,
  the first ``m-lap-us-T`` as start and the next as end, elapsed = end - start in microseconds.

Stricter than the runner where a difference would be silent there: a byte that is not UTF-8 is an error
(the runner would log it and reuse the previous character), and every ``e-`` line must have the EEMBC
form ``e-[...]``.
"""

from __future__ import annotations

import queue
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import serial

READY = "m-ready"
LINE_TIMEOUT_S = 5.0
INFER_TIMEOUT_S = 30.0
DB_BYTES_PER_COMMAND = 31  # the runner's chunk without a power board

NAME_RE = re.compile(r"^m-(name)-dut-\[([^]]+)]$")
PROFILE_RE = re.compile(r"^m-(model|profile)-\[([^]]+)]$")
RESULTS_RE = re.compile(r"^m-results-\[([^]]+)\]$")
LAP_RE = re.compile(r"^m-lap-us-([0-9]+)$")
ERROR_RE = re.compile(r"^e-\[.*\]$")


class ProtocolViolation(AssertionError):
    """The device said something the runner would misread."""


def reference_text(v: float) -> str:
    """How the EEMBC reference firmware prints one result: every digit truncated from its own float32
    product (v*10, v*100, v*1000), never rounded; a sign only when a digit is not zero."""
    f = np.float32(abs(v))
    digits = [int(f)] + [int(np.float32(f * np.float32(m))) % 10 for m in (10, 100, 1000)]
    sign = "-" if v < 0 and any(digits) else ""
    return f"{sign}{digits[0]}.{digits[1]}{digits[2]}{digits[3]}"


def reference_results_line(q: np.ndarray, scale: float, zero_point: int) -> str:
    """The m-results line of int8 outputs ``q``, dequantised in float32 as TFLite Micro's helper does."""
    values = (q.astype(np.int32) - zero_point).astype(np.float32) * np.float32(scale)
    return "m-results-[" + ",".join(reference_text(float(v)) for v in values) + "]"


@dataclass
class RunnerClient:
    """One runner session on a serial port (``port``: a device path or a pyserial URL)."""

    port: str
    baud: int = 115200
    lines_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._serial = serial.serial_for_url(self.port, self.baud, timeout=0.1)
        self._queue: queue.Queue[str] = queue.Queue()
        self._running = True
        self._error: str | None = None
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        msg = ""
        while self._running:
            raw = self._serial.read(1)
            if not raw:
                continue
            try:
                char = raw.decode()
            except UnicodeDecodeError:
                self._error = f"undecodable byte {raw!r} after {msg!r}"
                continue
            if char not in "\n\r\0":
                msg += char
            elif char == "\n":
                self.lines_seen.append(msg)
                self._queue.put(msg)
                msg = ""

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self._serial.close()

    def __enter__(self) -> RunnerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the runner's SerialDevice.send_command
    def send_command(self, command: str, timeout: float = LINE_TIMEOUT_S) -> str | list[str]:
        self._serial.write((command + "%").encode())
        lines: list[str] = []
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise ProtocolViolation(f"No response to command {command}") from None
            if self._error:
                raise ProtocolViolation(self._error)
            if line.startswith("e-") and not ERROR_RE.match(line):
                raise ProtocolViolation(f"error line not in the EEMBC form e-[...]: {line!r}")
            if line:
                lines.append(line)
            if READY in line:
                break
        return lines if len(lines) != 1 else lines[0]

    # -- the runner's DUT
    def get_name(self) -> str | None:
        for line in self.send_command("name"):
            m = NAME_RE.match(line)
            if m:
                return m.group(2)
        return None

    def get_profile(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for line in self.send_command("profile"):
            m = PROFILE_RE.match(line)
            if m:
                found[m.group(1)] = m.group(2)
        return found

    def load(self, data: bytes) -> str | list[str]:
        first = self.send_command(f"db load {len(data)}")
        result: str | list[str] = first
        for i in range(0, len(data), DB_BYTES_PER_COMMAND):
            result = self.send_command("db " + "".join(f"{d:02x}" for d in data[i:i + DB_BYTES_PER_COMMAND]))
        return result

    def infer(self, number: int, warmups: int) -> str | list[str]:
        return self.send_command(f"infer {number} {warmups}", timeout=INFER_TIMEOUT_S)


def gather_infer_results(lines: str | list[str]) -> dict[str, Any]:
    """The runner's reading of an infer answer: results, start/end/elapsed time (us), inferences counted."""
    result: dict[str, Any] = {}
    total = 0
    for line in lines:
        m = RESULTS_RE.match(line)
        if m:
            result["results"] = [float(x) for x in m.group(1).split(",") if x.strip()]
            result["results_text"] = line
            total += 1
            continue
        m = LAP_RE.match(line)
        if m:
            result["end_time" if "start_time" in result else "start_time"] = int(m.group(1))
    if "start_time" in result and "end_time" in result:
        result["elapsed_time"] = result["end_time"] - result["start_time"]
    result["total_inferences"] = total
    return result

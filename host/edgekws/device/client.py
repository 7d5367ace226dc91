"""Serial client of the edgekws binary protocol (a board, the emulator, or the host build).

``serial.serial_for_url`` makes ``/dev/ttyACM0`` and ``socket://127.0.0.1:PORT``
the same code path, so CI's emulator run exercises exactly what a user runs
against a Nucleo. Faults are part of the contract:

* every request has a deadline and a bounded number of retries (requests are
  idempotent, so a re-sent one is harmless; RESET is never re-sent);
* garbage on the line is skipped: the reader resynchronises at the next 0x00;
* a boot banner (EVT_BOOT) in the middle of a run means the device reset:
  :class:`DeviceResetError`, so the caller can reload its state or stop;
* a port that disappears raises :class:`PortVanishedError` with one line.

All of these are :class:`edgekws.errors.DeviceError`: the CLI prints one line
and exits non-zero, never a traceback.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from types import TracebackType

import numpy as np

from edgekws.device import protocol as P
from edgekws.errors import DeviceError


class DeviceTimeoutError(DeviceError):
    """No valid answer within the deadline after every retry."""


class DeviceResetError(DeviceError):
    """The device sent its boot banner in the middle of a run."""

    def __init__(self, message: str, hello: P.Hello | None = None) -> None:
        super().__init__(message)
        self.hello = hello


class PortVanishedError(DeviceError):
    """The serial port or socket went away (cable pulled, emulator killed)."""


class DeviceCommandError(DeviceError):
    """The device understood the request and refused it (status != OK)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DeviceClient:
    """One connection to a device speaking protocol v1.

    Args:
        port: device path or pyserial URL (``socket://127.0.0.1:4321``, ``loop://``).
        baud: UART baud rate (ignored by sockets).
        timeout: seconds to wait for an ordinary reply before re-sending.
        retries: re-sends after a timeout or a NACK before giving up.
        infer_timeout: seconds for INFER/SELFTEST replies (the model runs meanwhile).
    """

    def __init__(self, port: str, baud: int = 115200, timeout: float = 2.0, retries: int = 3,
                 infer_timeout: float = 60.0) -> None:
        self.port = port
        self.baud = baud
        self.timeout = timeout
        self.retries = retries
        self.infer_timeout = infer_timeout
        self._ser = None
        self._reader = P.FrameReader()
        self._pending: deque[P.Frame] = deque()
        self._seq = 0
        self.hello_info: P.Hello | None = None
        self.bad_frames = 0   # garbage / undecodable segments seen
        self.retries_used = 0

    # ------------------------------------------------------------ connection
    def open(self) -> DeviceClient:
        import serial

        try:
            self._ser = serial.serial_for_url(self.port, baudrate=self.baud, timeout=0.02, write_timeout=5.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortVanishedError(f"cannot open {self.port}: {_one_line(exc)}") from exc
        return self

    def close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):  # closing a dead port must not mask the real error
                self._ser.close()
            self._ser = None

    def __enter__(self) -> DeviceClient:
        if self._ser is None:
            self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------ raw I/O
    def write_raw(self, data: bytes) -> None:
        """Send bytes as they are (tests use it to inject malformed frames)."""
        import serial

        if self._ser is None:
            raise PortVanishedError(f"{self.port} is not open")
        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise PortVanishedError(f"{self.port} vanished while writing: {_one_line(exc)}") from exc

    def _poll(self) -> list[P.Frame | P.FrameError]:
        import serial

        if self._ser is None:
            raise PortVanishedError(f"{self.port} is not open")
        try:
            waiting = self._ser.in_waiting
            data = self._ser.read(max(1, min(waiting, 65536)))
        except (serial.SerialException, OSError) as exc:
            raise PortVanishedError(f"{self.port} vanished: {_one_line(exc)}") from exc
        return self._reader.feed(data) if data else []

    def read_frame(self, timeout: float) -> P.Frame | None:
        """Next valid frame from the device within ``timeout`` s (None if none)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._pending:
                return self._pending.popleft()
            for item in self._poll():
                if isinstance(item, P.FrameError):
                    self.bad_frames += 1
                else:
                    self._pending.append(item)
            if not self._pending and time.monotonic() >= deadline:
                return None

    def wait_boot(self, timeout: float) -> P.Hello:
        """Wait for the boot banner (after power-up, flashing or a reset)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"no boot banner from {self.port} within {timeout:g} s")
            f = self.read_frame(min(left, 0.5))
            if f is not None and f.cmd == P.Evt.BOOT:
                self.hello_info = P.Hello.unpack(f.payload)
                return self.hello_info

    # ------------------------------------------------------------ requests
    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                retries: int | None = None, allow_boot: bool = False) -> P.Frame:
        """Send one request and return its OK response.

        Re-sends after a timeout or a NACK naming this request; raises
        DeviceResetError when a boot banner arrives instead (unless allow_boot,
        used while connecting), DeviceCommandError when the device answers
        with an error status.
        """
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        self._seq = (self._seq + 1) & 0xFFFF or 1
        seq = self._seq
        want = cmd | P.RESPONSE_BIT
        self._check_pending_boot(allow_boot)
        for attempt in range(retries + 1):
            if attempt:
                self.retries_used += 1
            self.write_raw(P.encode_frame(cmd, seq, payload))
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                f = self.read_frame(min(left, 0.25))
                if f is None:
                    continue
                if f.cmd == P.Evt.BOOT:
                    hello = P.Hello.unpack(f.payload)
                    if allow_boot:
                        self.hello_info = hello
                        continue
                    raise DeviceResetError(f"{self.port} reset during {_cmd_name(cmd)} (boot banner received)",
                                           hello)
                if f.cmd == P.Evt.NACK and f.seq == seq:
                    self.bad_frames += 1
                    break  # our frame was damaged in transit: re-send
                if f.cmd == want and f.seq == seq:
                    if f.status != P.Status.OK:
                        raise DeviceCommandError(f"device refused {_cmd_name(cmd)}: {P.error_text(f)}", f.status)
                    return f
                # anything else: a stale reply to an earlier attempt, a log line, ...
        raise DeviceTimeoutError(
            f"no answer from {self.port} to {_cmd_name(cmd)} after {retries + 1} tries of {timeout:g} s")

    def _waiting(self) -> bool:
        """Whether bytes are waiting, without blocking (pyserial: in_waiting)."""
        import serial

        if self._ser is None:
            raise PortVanishedError(f"{self.port} is not open")
        try:
            return bool(self._ser.in_waiting)
        except (serial.SerialException, OSError) as exc:
            raise PortVanishedError(f"{self.port} vanished: {_one_line(exc)}") from exc

    def _check_pending_boot(self, allow_boot: bool = False) -> None:
        """Before a request: anything that arrived meanwhile (a boot banner means a reset)."""
        while self._waiting():
            items = self._poll()
            if not items and not self._waiting():
                break
            for item in items:
                if isinstance(item, P.FrameError):
                    self.bad_frames += 1
                else:
                    self._pending.append(item)
        boots = [f for f in self._pending if f.cmd == P.Evt.BOOT]
        self._pending.clear()
        if boots and not allow_boot:
            hello = P.Hello.unpack(boots[-1].payload)
            raise DeviceResetError(f"{self.port} reset between requests (boot banner received)", hello)

    def drain(self, quiet: float = 0.1) -> None:
        """Forget everything already received (e.g. an expected boot banner)."""
        while self.read_frame(quiet) is not None:
            pass

    # ------------------------------------------------------------ commands
    def connect(self) -> P.Hello:
        """Open the port and say hello. A boot banner during this handshake is
        expected (opening a board's port or the emulator's socket may start or
        reset it), so it is not an error here."""
        if self._ser is None:
            self.open()
        self.hello_info = P.Hello.unpack(self.request(P.Cmd.HELLO, allow_boot=True).payload)
        return self.hello_info

    def hello(self) -> P.Hello:
        self.hello_info = P.Hello.unpack(self.request(P.Cmd.HELLO).payload)
        return self.hello_info

    @property
    def chunk_size(self) -> int:
        mp = self.hello_info.max_payload if self.hello_info else P.MAX_PAYLOAD
        return max(16, min(mp, P.MAX_PAYLOAD) - 8)

    def load_input(self, data: bytes | np.ndarray) -> None:
        """Write the whole input tensor (int8 bytes) in chunks."""
        raw = np.asarray(data, dtype=np.int8).tobytes() if isinstance(data, np.ndarray) else bytes(data)
        step = self.chunk_size
        for off in range(0, len(raw), step):
            self.request(P.Cmd.LOAD_INPUT, P.load_input_payload(off, raw[off:off + step]))

    def load_audio(self, pcm: np.ndarray) -> None:
        """Write one clip of int16 samples in chunks (the device frontend reads it)."""
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        step = self.chunk_size // 2
        for off in range(0, len(pcm), step):
            self.request(P.Cmd.LOAD_AUDIO, P.load_audio_payload(off, pcm[off:off + step]))

    def infer(self, from_audio: bool = False, repeat: int = 1) -> P.InferReply:
        f = self.request(P.Cmd.INFER, P.infer_payload(from_audio, repeat), timeout=self.infer_timeout,
                         retries=1)
        return P.InferReply.unpack(f.payload)

    def results(self) -> P.Results:
        res = P.Results.unpack(self.request(P.Cmd.RESULTS).payload)
        if res.complete:
            return res
        out = bytearray(res.output.tobytes())
        step = self.chunk_size
        while len(out) < res.output_total:
            n = min(step, res.output_total - len(out))
            f = self.request(P.Cmd.READ_OUTPUT, P.read_output_payload(len(out), n))
            out += f.payload[1:]
        return P.Results(res.unit, res.total_ticks, res.frontend_ticks, np.frombuffer(bytes(out), np.int8).copy(),
                         res.output_total, res.layers_total, res.layer_ticks)

    def layer_check(self) -> P.LayerCheckReply:
        """Logits and every layer's CRC-32 of the last inference (LAYER_CHECK, paged until complete).

        DeviceError when the device's logits do not fit one reply (not the case for any KWS model).
        """
        first = P.LayerCheckReply.unpack(self.request(P.Cmd.LAYER_CHECK, P.layer_check_payload(0),
                                                      timeout=self.infer_timeout).payload)
        if len(first.logits) != first.logits_total:
            raise DeviceError(f"the device's {first.logits_total} logits do not fit one layer-check reply")
        crcs = list(first.layer_crc)
        while len(crcs) < first.num_layers:
            page = P.LayerCheckReply.unpack(self.request(P.Cmd.LAYER_CHECK, P.layer_check_payload(len(crcs))).payload)
            if not page.layer_crc:
                raise DeviceError("the device sent an empty layer-check page")
            crcs += page.layer_crc
        return P.LayerCheckReply(first.num_layers, 0, first.logits_total, first.output_crc, first.logits, crcs)

    def read_input(self) -> np.ndarray:
        """The staged input tensor (what LOAD_INPUT wrote or the device frontend computed)."""
        n = (self.hello_info or self.hello()).input_size
        out = bytearray()
        while len(out) < n:
            k = min(self.chunk_size, n - len(out))
            out += self.request(P.Cmd.READ_INPUT, P.read_output_payload(len(out), k)).payload[1:]
        return np.frombuffer(bytes(out), np.int8).copy()

    def run(self, x: bytes | np.ndarray) -> P.Results:
        """load_input + infer + results: one inference on one input."""
        self.load_input(x)
        self.infer()
        return self.results()

    def run_audio(self, pcm: np.ndarray) -> P.Results:
        self.load_audio(pcm)
        self.infer(from_audio=True)
        return self.results()

    def memory(self) -> P.MemoryStats:
        return P.MemoryStats.unpack(self.request(P.Cmd.MEMORY).payload)

    def selftest(self) -> P.SelftestResult:
        return P.SelftestResult.unpack(self.request(P.Cmd.SELFTEST, timeout=self.infer_timeout, retries=0).payload)

    def layer_info(self, index: int) -> P.LayerInfo:
        return P.LayerInfo.unpack(self.request(P.Cmd.LAYER_INFO, index.to_bytes(2, "little")).payload)

    def layers(self) -> list[P.LayerInfo]:
        n = (self.hello_info or self.hello()).num_layers
        return [self.layer_info(i) for i in range(n)]

    def echo(self, data: bytes) -> bytes:
        return self.request(P.Cmd.ECHO, data).payload[1:]

    def set_mode(self, mode: P.Mode) -> None:
        self.request(P.Cmd.SET_MODE, bytes([int(mode)]), retries=0)

    def reset(self, boot_timeout: float = 30.0) -> P.Hello:
        """Reset the device and wait for its boot banner.

        The reset may cut off the tail of its own reply on a real UART; the
        banner that follows is then proof enough.
        """
        try:
            self.request(P.Cmd.RESET, retries=0, timeout=min(self.timeout, boot_timeout))
        except DeviceResetError as exc:
            if exc.hello is not None:
                self.hello_info = exc.hello
                return exc.hello
        except DeviceTimeoutError:
            pass
        return self.wait_boot(boot_timeout)


def _cmd_name(cmd: int) -> str:
    try:
        return P.Cmd(cmd).name
    except ValueError:
        return f"command 0x{cmd:02x}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

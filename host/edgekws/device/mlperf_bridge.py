"""The emulated device as a serial port for the MLPerf Tiny runner: QEMU's UART behind a pseudo-terminal.

Why a pty: the MLPerf Tiny runner (mlcommons/tiny ``benchmark/runner``) talks to its device under test with
pyserial on a serial device path. QEMU offers its UART on a TCP socket; this module copies bytes both ways
between that socket and the master side of a pty, so the slave side (``/dev/pts/N``, or a symlink to it)
is a serial port the runner opens like a board's ``/dev/ttyACM0``. Nothing in the bytes is interpreted.

The image it runs is the serial server built with ``EDGEKWS_DEFAULT_PROTOCOL=1``: it boots in the EEMBC /
MLPerf text protocol as the reference firmware does (``m-timestamp-mode-performance``, one ``m-lap-us-``,
``m-init-done``, ``m-ready``), so no binary boot frame ever reaches the runner's text reader.

Virtual time: under ``-icount shift=N`` QEMU's clock advances exactly 2^N ns per executed instruction, and
``m-lap-us-`` counts in that clock. The runner's throughput is therefore inferences per *virtual* second of
a core executing 10^9 / 2^N instructions per second (3.9 M at the default N = 8), not a board's figure. A
larger shift (up to QEMU's 10) slows the virtual clock so that a small model's ``infer 70 10`` still spans
the runner's 10 s; the image is then built for that shift too, so its instruction counter stays exact.
Wall time is another matter: QEMU runs the guest as fast as it can (about 50 virtual seconds per second at
N = 8 here), and the runner's own wall-clock check (5 windows in at least 10 s) holds only when the windows
are long enough in instructions (the default model's kws01 run took 28.6 s).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgekws.errors import ConfigError, DeviceError

MLPERF_DEFINE = "EDGEKWS_DEFAULT_PROTOCOL=1"
if TYPE_CHECKING:
    from edgekws.device.emulator import Emulator

QEMU_MAX_SHIFT = 10  # QEMU refuses -icount shift above 10
BOOT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class BridgeConfig:
    """What ``serve_mlperf_bridge`` runs: a model, where to build, the emulated clock, where the pty goes."""

    bundle: Path  # model bundle or generated-C directory
    build_dir: Path
    elf: Path | None = None  # a prebuilt MLPerf-default mps2_an500 image instead of building one
    icount_shift: int | None = None  # None: the board's EDGEKWS_ICOUNT_SHIFT
    link: Path | None = None  # a symlink to the pty slave, for a fixed path in devices.yaml
    runner_files: Path | None = None  # write the runner shim and a devices file here (write_runner_files)


def resolve_shift(requested: int | None) -> int:
    """The -icount shift to run and build for; one clear error outside what the firmware counts exactly."""
    from edgekws.device.build import icount_shift

    base = icount_shift("mps2_an500")
    shift = base if requested is None else requested
    if not base <= shift <= QEMU_MAX_SHIFT:
        raise ConfigError(f"--icount-shift must be {base}..{QEMU_MAX_SHIFT} (2^N ns of virtual time per "
                          f"instruction; below {base} the firmware's instruction counter is not exact), got {shift}")
    return shift


def build_mlperf_firmware(bundle: Path, build_dir: Path, shift: int, note: Callable[[str], None] = print) -> Path:
    """The MLPerf-default server image for ``bundle`` at ``shift``; rebuilt only when the model, the firmware
    sources or the shift changed (the bench's stamp)."""
    from edgekws.bench.emulate import ensure_firmware, model_digest

    defines = (MLPERF_DEFINE, f"EDGEKWS_ICOUNT_SHIFT={shift}")
    elf, _mem = ensure_firmware(bundle, model_digest(bundle), build_dir, note=note, defines=defines)
    return elf


class PtyBridge:
    """A pty whose master side is joined to a TCP socket; ``path`` is the slave a serial client opens.

    The bridge keeps one descriptor of the slave open itself, in raw mode: the pty then never hangs up
    between two clients (the runner opens and closes the port per session), and no line discipline echoes
    or rewrites the device's bytes before pyserial sets its own raw mode. What the device said before a
    client opened the port is flushed by pyserial's open, as a board's USB serial drops it. ``transcript``
    keeps every byte the device sent (the boot lines among them).
    """

    def __init__(self, host: str, port: int, link: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.link = link
        self.transcript = bytearray()
        self._lock = threading.Lock()
        self._master = -1
        self._slave = -1
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.path = ""

    def start(self) -> PtyBridge:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=10)
        except OSError as exc:
            raise DeviceError(f"cannot reach the emulator's UART at {self.host}:{self.port}: {exc}") from exc
        self._sock.settimeout(None)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.path)
        self._threads = [threading.Thread(target=self._device_to_pty, daemon=True),
                         threading.Thread(target=self._pty_to_device, daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def _device_to_pty(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except OSError:
                break
            if not data:
                break  # QEMU closed the UART (it exited)
            with self._lock:
                self.transcript.extend(data)
            view = memoryview(data)
            while view and not self._stop.is_set():
                try:
                    view = view[os.write(self._master, view):]
                except OSError:
                    return
        self._stop.set()

    def _pty_to_device(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                break
            if data:
                try:
                    self._sock.sendall(data)
                except OSError:
                    break
        self._stop.set()

    @property
    def alive(self) -> bool:
        return not self._stop.is_set()

    def wait_for(self, text: bytes, timeout: float) -> bool:
        """Wait up to ``timeout`` s until the device has sent ``text``; False if it has not (or the line ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if text in self.transcript:
                    return True
            if self._stop.wait(0.02):
                break
        with self._lock:
            return text in self.transcript

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the bridge to end (QEMU closed the UART); True once it has."""
        return self._stop.wait(timeout)

    def device_text(self) -> str:
        """What the device has sent so far, as text."""
        with self._lock:
            return self.transcript.decode("utf-8", errors="replace")

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(OSError):
                self.link.unlink()

    def __enter__(self) -> PtyBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class RunningBridge:
    """A started bridge: the pty side, the QEMU it serves, and the -icount shift both were built and run at."""

    pty: PtyBridge
    emulator: Emulator
    icount_shift: int

    @property
    def path(self) -> str:
        return self.pty.path


@contextlib.contextmanager
def mlperf_bridge(cfg: BridgeConfig, note: Callable[[str], None] = print) -> Iterator[RunningBridge]:
    """Build (if needed) and start the MLPerf-default image in QEMU behind a pty; stops both after.

    QEMU starts the guest when the bridge connects, so the boot lines are in ``pty.transcript``.
    """
    from edgekws.device.emulator import Emulator

    shift = resolve_shift(cfg.icount_shift)
    if cfg.elf is not None and not cfg.elf.is_file():
        raise ConfigError(f"{cfg.elf}: no such firmware ELF")
    elf = cfg.elf if cfg.elf is not None else build_mlperf_firmware(cfg.bundle, cfg.build_dir, shift, note)
    with Emulator(elf, serial="tcp", icount_shift=shift) as emu:
        assert emu.port is not None
        with PtyBridge("127.0.0.1", emu.port, cfg.link) as pty:
            # Hand the port out only after the boot: lines that arrive once a client has the port open
            # would be read as the answer to its first command (the runner's "name" would then fail once).
            if not pty.wait_for(b"m-ready\r\n", BOOT_TIMEOUT_S):
                said = pty.device_text()[-200:]
                raise DeviceError(f"the emulated firmware did not boot into MLPerf mode within {BOOT_TIMEOUT_S:g} s"
                                  f" (it said {said!r}); is {elf} an image built with {MLPERF_DEFINE}?")
            yield RunningBridge(pty, emu, shift)


# The runner finds its device by scanning USB serial ports for a VID:PID from its devices file; a pty has
# none. The shim (a sitecustomize module put first on the runner's PYTHONPATH, so none of the runner's files
# change) lists the bridge's pty among pyserial's ports under the pid.codes test VID:PID 1209:0001, which the
# devices file below names; EDGEKWS_MLPERF_PORT says which pty.
SHIM_VID, SHIM_PID = 0x1209, 0x0001
PORT_ENV = "EDGEKWS_MLPERF_PORT"

_SHIM = f'''"""edgekws: list the MLPerf bridge's pty (${PORT_ENV}) among pyserial's ports as USB {SHIM_VID:04x}:{SHIM_PID:04x}.

Written by `edgekws firmware mlperf-bridge --runner-files`; put its directory first on PYTHONPATH when
starting the MLPerf Tiny runner. Without {PORT_ENV} it changes nothing.
"""
import os

_port = os.environ.get("{PORT_ENV}")
if _port:
    import serial.tools.list_ports as _lp
    import serial.tools.list_ports_common as _lpc

    _scan = _lp.comports

    def comports(include_links=False):
        ports = list(_scan(include_links))
        info = _lpc.ListPortInfo(_port, skip_link_detection=True)
        info.vid, info.pid = {SHIM_VID:#06x}, {SHIM_PID:#06x}
        info.description = "edgekws emulated device (QEMU) through a pty"
        info.hwid = "USB VID:PID={SHIM_VID:04X}:{SHIM_PID:04X}"
        return ports + [info]

    _lp.comports = comports
'''

_DEVICES_YAML = f"""# edgekws: the emulated device behind tools/mlperf_bridge.py (found through the runner shim)
- name: edgekws-qemu
  type: dut
  baud: 115200
  usb:
    {SHIM_VID:#06x}: {SHIM_PID:#06x}
"""


def write_runner_files(directory: Path) -> tuple[Path, Path]:
    """Write the runner shim (sitecustomize.py) and a devices file naming the bridge into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    shim, devices = directory / "sitecustomize.py", directory / "devices_edgekws_emulator.yaml"
    shim.write_text(_SHIM)
    devices.write_text(_DEVICES_YAML)
    return shim, devices


def serve_mlperf_bridge(cfg: BridgeConfig, note: Callable[[str], None] = print) -> None:
    """Run the bridge until QEMU exits or the user stops it (Ctrl-C, SIGTERM, SIGHUP); prints the pty path."""
    from edgekws.device.emulator import exit_cleanly_on_signals

    with exit_cleanly_on_signals(), mlperf_bridge(cfg, note) as bridge:
        where = f"{bridge.path}" + (f" (also {cfg.link})" if cfg.link else "")
        note(f"MLPerf Tiny serial port: {where}")
        if cfg.runner_files is not None:
            _shim, devices = write_runner_files(cfg.runner_files)
            note(f"runner: cd tiny/benchmark/runner && PYTHONPATH={cfg.runner_files.resolve()} "
                 f"{PORT_ENV}={cfg.link or bridge.path} python main.py --device_list {devices.resolve()} "
                 "--dataset_path DATASETS --mode p")
        shift = bridge.icount_shift
        note(f"virtual time: 2^{shift} ns per instruction ({1e3 / (1 << shift):.3g} M instructions per virtual "
             f"second). Ctrl-C, SIGTERM or SIGHUP stops it.")
        try:
            while not bridge.pty.wait(0.5) and bridge.emulator.returncode is None:
                pass
        except KeyboardInterrupt:
            return
        code = bridge.emulator.returncode
    if code not in (None, 0):
        raise DeviceError(f"the firmware exited with status {code} in QEMU")

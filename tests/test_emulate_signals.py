"""`edgekws firmware emulate` stops its QEMU when it is told to stop by a signal, not only by Ctrl-C.

Found by a user: `kill <pid>` of the command left qemu-system-arm running (busy-looping the guest at
50 % CPU) because Python's default SIGTERM action ends the process without unwinding the `with Emulator`.
The test runs the real command on a real firmware image in real QEMU, connects to its UART so the guest
runs, sends the signal, and checks that no QEMU child survives.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from edgekws.device.build import build_firmware

pytestmark = [pytest.mark.slow, pytest.mark.emulator]

REPO = Path(__file__).resolve().parents[1]
EDGEKWS = REPO / ".venv" / "bin" / "edgekws"


@pytest.fixture(scope="module")
def server_elf(tmp_path_factory: pytest.TempPathFactory, arm_gcc: str, qemu_arm: str) -> Path:
    del arm_gcc, qemu_arm
    return build_firmware("mps2_an500", REPO / "models" / "default", tmp_path_factory.mktemp("fw_emulate"))


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_stops_qemu(server_elf: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen([str(EDGEKWS), "firmware", "emulate", "--elf", str(server_elf)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    qemu: list[int] = []
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.search(r"socket://127\.0\.0\.1:(\d+)", line)
        assert m, f"no UART line: {line!r} {proc.stderr.read() if proc.poll() is not None and proc.stderr else ''}"
        with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5):
            time.sleep(0.5)  # the guest runs once a client is connected
            qemu = [c for c in _children(proc.pid)
                    if "qemu-system-arm" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]
            assert qemu, "no qemu-system-arm child found"
            proc.send_signal(sig)
            code = proc.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(_alive(q) for q in qemu) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(q) for q in qemu), f"QEMU {qemu} survived {sig.name}"
        assert code == 128 + sig, (code, proc.stderr.read() if proc.stderr else "")
        err = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in err, err
    finally:
        for q in qemu:
            if _alive(q):
                os.kill(q, signal.SIGKILL)  # our own child, left over only when the test failed
        if proc.poll() is None:
            proc.kill()
        proc.wait()

"""`edgekws stream device --timeout`: how long each reply may take reaches the client (a busy emulator needs more)."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli
from edgekws.audio import write_wav

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def silent_port():
    """A real TCP server that accepts the connection, reads everything and never answers."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        conns = []
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.settimeout(0.2)
                conns.append(conn)
            except OSError:
                pass
            for c in conns:
                with contextlib.suppress(OSError):
                    c.recv(4096)
        for c in conns:
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"socket://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(5)
    srv.close()


def test_the_reply_timeout_is_the_users(silent_port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = tmp_path / "s.wav"
    write_wav(wav, np.zeros(16000, np.float32), 16000)
    code, _, err = run_cli(["stream", "device", str(wav), "--bundle", str(REPO / "models" / "default"),
                            "--port", silent_port, "-o", str(tmp_path / "d.json"), "--timeout", "0.3"], capsys)
    assert code != 0 and "internal error" not in err
    assert "of 0.3 s" in err and err.count("\n") == 1, err  # one line naming the timeout it waited (not the 2 s default)
    assert not (tmp_path / "d.json").exists()

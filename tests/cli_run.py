"""Run the edgekws CLI in-process from a test, as a user's shell would: exit code, stdout, stderr."""

from __future__ import annotations

import pytest


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``edgekws ARGV``: (exit code, stdout, stderr); a command that returns normally counts as 0."""
    from edgekws.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def run_cli_ok(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """``edgekws ARGV`` that must exit 0 (the last of stderr in the failure message); its stdout."""
    from edgekws.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    assert info.value.code == 0, out.err[-2000:]
    return out.out

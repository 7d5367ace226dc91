"""The other areas' host-built firmware C tests, rerun under AddressSanitizer + UBSan.

Which run here: the ctypes-based C test modules that do not already build with
sanitizers (protocol, device server, frontend, nn kernels, codegen and the
streaming device build have their own -fsanitize tests; the fuzz targets and
the host-board soak cover the server and protocol too). Each module runs in a
subprocess pytest with ``-p sanitize_plugin`` (every tests/cbuild.py compile
gets -fsanitize=address,undefined -fno-sanitize-recover=all) and libasan +
libubsan preloaded into Python, so a report aborts the run. The same tests,
the same asserts, unchanged files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: module -> why it is here
MODULES = {
    "test_stream_c.py": "streaming core (ring buffers, detector, wire format): only UBSan in its own test",
    "test_stream_model_c.py": "streaming model + device frontend linked together: no sanitizer build",
    "test_nn_sparse.py": "sparse kernels called one by one with edge shapes: no sanitizer build",
    "test_quant_math.py": "fixed-point requantisation shim: no sanitizer build",
}


def _runtime(cc: str, name: str) -> str:
    path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    if not path or not Path(path).is_file():
        pytest.fail(f"{cc} has no {name} (install the gcc sanitizer runtimes)")
    return path


def _env(cc: str) -> dict[str, str]:
    env = dict(os.environ, LD_PRELOAD=f"{_runtime(cc, 'libasan.so')} {_runtime(cc, 'libubsan.so')}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1", UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return env


def _pytest(args: list[str], cc: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "sanitize_plugin", "-p", "no:cacheprovider",
                           *args], cwd=TESTS, capture_output=True, text=True, env=_env(cc), timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("module", list(MODULES))
def test_module_clean_under_sanitizers(module: str, host_cc: str) -> None:
    # its own slow tests too where the module has nothing else (all of test_stream_model_c is slow)
    marks = [] if module == "test_stream_model_c.py" else ["-m", "not slow"]
    proc = _pytest([*marks, module], host_cc)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "AddressSanitizer" not in tail and "runtime error" not in tail, tail


PLANTED = '''
import ctypes
import cbuild

SRC = r"""
#include <stdint.h>
int sum_first(const int8_t *x, int n)
{
    int8_t copy[8];
    int s = 0;
    for (int i = 0; i < 8; i++) { copy[i] = x[i]; }
    for (int i = 0; i <= n; i++) { s += copy[i]; }  /* one past the end when n == 8 */
    return s;
}
"""


def test_planted(tmp_path):
    src = tmp_path / "planted.c"
    src.write_text(SRC)
    lib = ctypes.CDLL(str(cbuild.compile_shared([src], tmp_path / "libplanted.so")))
    buf = (ctypes.c_int8 * 8)(*range(8))
    lib.sum_first(buf, 8)
'''


def test_setup_catches_a_planted_overflow(host_cc: str, tmp_path: Path) -> None:
    """Not vacuous: a one-past-the-end read that passes in a plain build aborts under the plugin."""
    mod = TESTS / f"_planted_{os.getpid()}_test.py"
    try:
        mod.write_text(PLANTED)
        plain = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", mod.name,
                                "--basetemp", str(tmp_path / "a")], cwd=TESTS, capture_output=True, text=True)
        assert plain.returncode == 0, plain.stdout[-2000:]
        san = _pytest([mod.name, "--basetemp", str(tmp_path / "b")], host_cc, timeout=300)
        assert san.returncode != 0
        report = san.stderr + san.stdout
        assert "AddressSanitizer" in report or "runtime error: index 8 out of bounds" in report, report[-2000:]
    finally:
        mod.unlink(missing_ok=True)

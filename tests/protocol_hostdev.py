"""Build and start the device server as an x86 program (firmware/src/board/host).

The tests drive it through a real TCP socket with the same client the bench
uses. The model is a tiny fully connected layer the test writes as C here
(the real nn runner and ref kernel run it), so these tests do not wait for a
trained bundle; the emulator tests use the exported default model.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekws.export.quant_math import multiply_by_quantized_multiplier

REPO = Path(__file__).resolve().parents[1]
FW = REPO / "firmware"

N_IN, N_OUT = 16, 4
MULT, SHIFT = 1 << 30, -7  # real multiplier 0.5 * 2^-7


@dataclass
class TinyModel:
    weights: np.ndarray  # int8 [N_OUT, N_IN]
    bias: np.ndarray     # int32 [N_OUT]

    def run(self, x: np.ndarray) -> np.ndarray:
        """Reference output computed in Python with TFLite's integer arithmetic."""
        acc = self.weights.astype(np.int64) @ x.astype(np.int64) + self.bias
        out = [multiply_by_quantized_multiplier(int(a), MULT, SHIFT) for a in acc]
        return np.clip(out, -128, 127).astype(np.int8)


def tiny_model(seed: int = 0) -> TinyModel:
    rng = np.random.default_rng(seed)
    return TinyModel(rng.integers(-128, 128, (N_OUT, N_IN)).astype(np.int8),
                     rng.integers(-2000, 2000, N_OUT).astype(np.int32))


def _c_array(values: np.ndarray) -> str:
    return ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1))


def write_tiny_model_c(model: TinyModel, out_dir: Path, n_vectors: int = 2) -> Path:
    """edgekws_model.{h,c} with the macros and symbols the app expects from `edgekws export c`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    xs = rng.integers(-128, 128, (n_vectors, N_IN)).astype(np.int8)
    ys = np.stack([model.run(x) for x in xs])
    # one FC layer and no softmax: its output is the logits and the one layer CRC (layer check data)
    crcs = [zlib.crc32(y.tobytes()) & 0xFFFFFFFF for y in ys]
    (out_dir / "edgekws_model.h").write_text(f"""\
#ifndef EDGEKWS_MODEL_H
#define EDGEKWS_MODEL_H
#include <stdint.h>
#include "edgekws/nn.h"
#define EDGEKWS_MODEL_NAME "tiny_fc"
#define EDGEKWS_BUNDLE_HASH "0123456789abcdef"
#define EDGEKWS_BACKENDS "ref"
#define EDGEKWS_INPUT_SIZE {N_IN}u
#define EDGEKWS_OUTPUT_SIZE {N_OUT}u
#define EDGEKWS_ARENA_SIZE 32u
#define EDGEKWS_WEIGHTS_BYTES {N_IN * N_OUT}u
#define EDGEKWS_NUM_LABELS {N_OUT}u
#define EDGEKWS_SELFTEST_COUNT {n_vectors}u
#define EDGEKWS_NUM_LAYERS 1
#define EDGEKWS_LOGITS_SIZE {N_OUT}u
#define EDGEKWS_SELFTEST_LAYER_CHECK 1
extern const nn_model_t edgekws_model;
extern const char *const edgekws_labels[EDGEKWS_NUM_LABELS];
extern const int8_t edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE];
extern const int8_t edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE];
extern const int8_t edgekws_selftest_logits[EDGEKWS_SELFTEST_COUNT][EDGEKWS_LOGITS_SIZE];
extern const uint32_t edgekws_selftest_layer_crc[EDGEKWS_SELFTEST_COUNT][EDGEKWS_NUM_LAYERS];
#endif
""")
    vec_in = ", ".join("{" + _c_array(x) + "}" for x in xs)
    vec_out = ", ".join("{" + _c_array(y) + "}" for y in ys)
    (out_dir / "edgekws_model.c").write_text(f"""\
#include "edgekws_model.h"
static uint8_t arena[EDGEKWS_ARENA_SIZE] __attribute__((aligned(16)));
static const int8_t w[] = {{{_c_array(model.weights)}}};
static const int32_t b[] = {{{_c_array(model.bias)}}};
static const int32_t mult[] = {{{", ".join([str(MULT)] * N_OUT)}}};
static const int32_t shift[] = {{{", ".join([str(SHIFT)] * N_OUT)}}};
static const nn_layer_t layers[] = {{{{
    .name = "fc_0", .op_name = "FULLY_CONNECTED", .backend = "ref", .op = NN_OP_FULLY_CONNECTED,
    .in1_offset = 0, .out_offset = {N_IN},
    .in1_dims = {{1, 1, 1, {N_IN}}}, .filter_dims = {{{N_OUT}, 1, 1, {N_IN}}}, .out_dims = {{1, 1, 1, {N_OUT}}},
    .params.fc = {{0, 0, -128, 127}},
    .weights = w, .bias = b, .quant = {{mult, shift}},
    .kernel.fc = nn_fully_connected_s8_ref,
}}}};
const nn_model_t edgekws_model = {{"tiny_fc", "0123456789abcdef", arena, EDGEKWS_ARENA_SIZE,
                                   0, {N_IN}, {N_IN}, {N_OUT}, 1, layers}};
const char *const edgekws_labels[EDGEKWS_NUM_LABELS] = {{"a", "b", "c", "d"}};
const int8_t edgekws_selftest_input[EDGEKWS_SELFTEST_COUNT][EDGEKWS_INPUT_SIZE] = {{{vec_in}}};
const int8_t edgekws_selftest_expected[EDGEKWS_SELFTEST_COUNT][EDGEKWS_OUTPUT_SIZE] = {{{vec_out}}};
const int8_t edgekws_selftest_logits[EDGEKWS_SELFTEST_COUNT][EDGEKWS_LOGITS_SIZE] = {{{vec_out}}};
const uint32_t edgekws_selftest_layer_crc[EDGEKWS_SELFTEST_COUNT][EDGEKWS_NUM_LAYERS] = {{
    {", ".join("{" + f"0x{c:08x}u" + "}" for c in crcs)}}};
""")
    return out_dir


def host_sources(model_dir: Path | None = None) -> list[Path]:
    """Server, runner, host board, protocol, the kernel backends the model uses, and the
    device frontend when the model directory has its tables."""
    src = FW / "src"
    files = [src / "app/main.c", src / "app/selftest.c", src / "app/server.c", src / "nn/runner.c",
             src / "nn/stream_runner.c", src / "board/host/board_host.c"]
    files += sorted((src / "protocol").glob("*.c")) + sorted((src / "nn/ref").glob("*.c"))
    backends = {"ref"}
    header = model_dir / "edgekws_model.h" if model_dir is not None else None
    if header is not None and header.is_file():
        m = re.search(r'#define EDGEKWS_BACKENDS "([^"]*)"', header.read_text())
        if m:
            backends |= set(m.group(1).split(","))
    for b in sorted(backends - {"ref"}):
        files += sorted((src / "nn" / b).glob("*.c"))
    if model_dir is not None and (model_dir / "edgekws_frontend_tables.h").is_file():
        files += sorted((src / "frontend").glob("*.c"))  # the real device frontend
    return files


TEST_FRONTEND = REPO / "tests" / "c" / "test_frontend"


def build_host_device(cc: str, model_dir: Path, out: Path, sanitize: bool = True,
                      defines: tuple[str, ...] = (), test_frontend: bool = False) -> Path:
    """Compile the device server for x86 with -Wall -Wextra -Werror (and ASan/UBSan).

    test_frontend: link the stand-in feature extractor (tests/c/test_frontend) and
    build the audio path (EDGEKWS_HAS_FRONTEND=1).
    """
    flags = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror"]
    if sanitize:
        flags += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    extra: list[str] = []
    if test_frontend:
        defines = (*defines, "EDGEKWS_HAS_FRONTEND=1")
        extra = [str(TEST_FRONTEND / "test_frontend.c")]
        flags += ["-I", str(TEST_FRONTEND)]  # before firmware/include: the stand-in header wins
    cmd = [cc, *flags, *[f"-D{d}" for d in defines], "-I", str(FW / "include"), "-I", str(model_dir),
           *map(str, host_sources(model_dir)), *extra, *map(str, sorted(model_dir.glob("*.c"))), "-lm",
           "-o", str(out)]
    subprocess.run(cmd, check=True)
    return out


class HostDevice:
    """The host build running as a subprocess, listening on a free localhost port."""

    def __init__(self, exe: Path) -> None:
        env = dict(os.environ, EDGEKWS_HOST_PORT="0", ASAN_OPTIONS="detect_leaks=0")
        self.proc = subprocess.Popen([str(exe)], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"host device did not start: {line!r}")
        self.port = int(m.group(1))
        self.url = f"socket://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> str:
        """Stop it and return what it wrote on stderr (sanitizer reports land there)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def __enter__(self) -> HostDevice:
        time.sleep(0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FaultProxy:
    """A TCP proxy between the harness and a device that misbehaves on request.

    Faults, each armed for one occasion:
      * ``garbage_after(n, data)``: after the n-th device->host chunk, inject ``data``;
      * ``drop_request(n)``: swallow the n-th host->device chunk (the client must time out and re-send);
      * ``reset_at(n)``: before the n-th host->device chunk, send the device a RESET frame first;
      * ``vanish_after(n)``: close both sides after n device->host chunks (a pulled cable).
    """

    def __init__(self, device_port: int) -> None:
        import socket
        import threading

        self.device_port = device_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self.up = self.down = 0
        self.faults: dict[str, tuple[int, bytes]] = {}
        self.stopped = False
        self._conns: list = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def garbage_after(self, n: int, data: bytes) -> None:
        self.faults["garbage"] = (n, data)

    def drop_request(self, n: int) -> None:
        self.faults["drop"] = (n, b"")

    def reset_at(self, n: int) -> None:
        self.faults["reset"] = (n, b"")

    def vanish_after(self, n: int) -> None:
        self.faults["vanish"] = (n, b"")

    def _take(self, name: str, count: int) -> bytes | None:
        f = self.faults.get(name)
        if f is not None and count >= f[0]:
            del self.faults[name]
            return f[1]
        return None

    def _serve(self) -> None:
        import socket
        import threading

        while not self.stopped:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            dev = socket.create_connection(("127.0.0.1", self.device_port))
            self._conns += [client, dev]

            def close_both(a=client, b=dev) -> None:
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()

            def up(c=client, d=dev) -> None:
                from edgekws.device import protocol as P
                try:
                    while data := c.recv(65536):
                        self.up += 1
                        if self._take("drop", self.up) is not None:
                            continue
                        if self._take("reset", self.up) is not None:
                            d.sendall(P.encode_frame(P.Cmd.RESET, 4242))
                            time.sleep(0.3)
                        d.sendall(data)
                except OSError:
                    pass

            def down(c=client, d=dev) -> None:
                try:
                    while data := d.recv(65536):
                        self.down += 1
                        c.sendall(data)
                        g = self._take("garbage", self.down)
                        if g is not None:
                            c.sendall(g)
                        if self._take("vanish", self.down) is not None:
                            close_both()
                            return
                except OSError:
                    pass

            threading.Thread(target=up, daemon=True).start()
            threading.Thread(target=down, daemon=True).start()

    def close(self) -> None:
        self.stopped = True
        self.lsock.close()
        for s in self._conns:
            with contextlib.suppress(OSError):
                s.close()


class TextLine:
    """A raw socket speaking the MLPerf Tiny text protocol."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def command(self, text: str) -> list[str]:
        """Send one command, return its lines up to and including m-ready."""
        self.sock.sendall(text.encode())
        return self.until_ready()

    def until_ready(self) -> list[str]:
        lines: list[str] = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(4096)
                assert chunk, "device closed the connection"
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text_line = line.decode(errors="replace").lstrip("\x00")
            if not text_line.startswith(("m-", "e-")):
                continue  # e.g. the binary boot banner before the first command
            lines.append(text_line)
            if text_line == "m-ready":
                return lines

"""The firmware's protocol C module (host gcc, ASan + UBSan) against the Python codec."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from edgekws.device import protocol as P
from mlperf_runner_client import reference_text

SRC = ["tests/c/protocol_tool.c", "firmware/src/protocol/crc32.c", "firmware/src/protocol/cobs.c",
       "firmware/src/protocol/frame.c", "firmware/src/protocol/mlperf.c"]


class Tool:
    """A long-lived protocol_tool process: one request line, one answer line."""

    def __init__(self, exe: Path) -> None:
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, line: str, until_dot: bool = False) -> list[str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            got = self.proc.stdout.readline()
            assert got, "protocol_tool died (sanitizer report on stderr)"
            got = got.rstrip("\n")
            if not until_dot:
                return [got]
            if got == ".":
                return out
            out.append(got)

    def close(self) -> int:
        assert self.proc.stdin
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def tool(host_cc: str, repo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    exe = tmp_path_factory.mktemp("ptool") / "protocol_tool"
    cmd = [host_cc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-Wconversion",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
           "-I", str(repo_root / "firmware/include"), *[str(repo_root / s) for s in SRC], "-o", str(exe)]
    subprocess.run(cmd, check=True)
    t = Tool(exe)
    yield t
    assert t.close() == 0


def _hex(b: bytes) -> str:
    return b.hex() or "-"


def _random_payloads(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [b"", b"\x00", b"\x00" * 300, bytes(range(1, 255)), bytes(254) + b"\x01", bytes(P.MAX_PAYLOAD)]
    for _ in range(n):
        size = rng.choice([rng.randint(0, 20), rng.randint(200, 600), rng.randint(0, P.MAX_PAYLOAD)])
        zero_rate = rng.random()
        out.append(bytes(0 if rng.random() < zero_rate else rng.randint(1, 255) for _ in range(size)))
    return out


def test_crc_and_cobs_match_python(tool: Tool) -> None:
    for data in _random_payloads(1, 60):
        assert tool.ask(f"crc {_hex(data)}") == [f"{P.crc32(data):08x}"]
        enc = P.cobs_encode(data)
        assert tool.ask(f"cobs_enc {_hex(data)}") == [_hex(enc)]
        assert tool.ask(f"cobs_dec {_hex(enc)}") == [_hex(data)]


def test_frames_match_python(tool: Tool) -> None:
    rng = random.Random(2)
    for data in _random_payloads(3, 40):
        cmd, seq = rng.randint(0, 255), rng.randint(0, 0xFFFF)
        wire = P.encode_frame(cmd, seq, data, leading_delimiter=False)
        assert tool.ask(f"encode {cmd:x} {seq:x} {_hex(data)}") == [_hex(wire)]
        assert tool.ask(f"rx {_hex(wire)}", until_dot=True) == [f"F {cmd:02x} {seq} {_hex(data)}"]
    assert tool.ask(f"encode 1 1 {'00' * (P.MAX_PAYLOAD + 1)}") == ["ERR"]


def test_malformed_input_same_verdict_as_python(tool: Tool) -> None:
    """Random bytes, truncations, bit flips: C and Python agree on every verdict, sanitizers stay quiet."""
    rng = random.Random(4)
    good = P.frame_raw(P.Cmd.LOAD_INPUT, 0x1234, bytes(rng.randint(0, 255) for _ in range(100)))
    samples = [good, good[:5], good[:12], good + b"\x01", good[:-1] + bytes([good[-1] ^ 0x80])]
    samples += [bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 1100))) for _ in range(60)]
    for _ in range(60):
        b = bytearray(good)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        samples.append(bytes(b))
    for raw in samples:
        try:
            f = P.parse_raw(raw)
            want = f"0 {f.cmd:02x} {f.seq} {len(f.payload)} {_hex(f.payload)}"
        except P.FrameError as exc:
            want_status = int(exc.status)
            want = None
        got = tool.ask(f"parse {_hex(raw)}")[0]
        if want is not None:
            assert got == want
        else:
            assert int(got.split()[0]) == want_status, raw.hex()
    # random byte streams through both receivers: same events
    for _ in range(40):
        stream = bytes(rng.choice([0, rng.randint(1, 255)]) for _ in range(rng.randint(0, 3000)))
        stream += P.encode_frame(P.Cmd.HELLO, 9) + bytes([0])
        py = []
        for item in P.FrameReader().feed(stream):
            if isinstance(item, P.Frame):
                py.append(f"F {item.cmd:02x} {item.seq} {_hex(item.payload)}")
            else:
                py.append(f"E {int(item.status)}")
        c = tool.ask(f"rx {_hex(stream)}", until_dot=True)
        assert [" ".join(x.split()[:2]) if x.startswith("E") else x for x in c] == py
        assert c[-1] == "F 01 9 -"


def test_mlperf_parser(tool: Tool) -> None:
    got = tool.ask("ml name%profile%db load 490%db 0a0B%db zz%db 123%infer 5 1%infer%infer 0%results%"
                   "db%db load%foo bar%" + "x" * 1100 + "%timestamp%", until_dot=True)
    kinds = [int(x.split()[0]) for x in got]
    # ML_NAME=1 PROFILE=2 DB_LOAD=5 DB_HEX=6 INFER=8 RESULTS=9 ERROR=11 UNKNOWN=12 TIMESTAMP=4
    assert kinds == [1, 2, 5, 6, 6, 6, 8, 8, 11, 9, 11, 11, 12, 11, 4]
    assert got[2].split()[1] == "490"
    assert got[6].split()[1:3] == ["5", "1"]
    assert got[7].split()[1:3] == ["1", "10"]  # defaults N=1, W=10
    assert "too long" in got[13]


@pytest.mark.parametrize(("v", "text"), [(0.0, "0.000"), (0.99999, "0.999"), (-0.1234, "-0.123"),
                                         (0.0625, "0.062"), (12.5, "12.500"), (-0.0001, "0.000"),
                                         (1 / 256, "0.003"), (255 / 256, "0.996"), (0.0009, "0.000"),
                                         (0.29, "0.290"), (1.0, "1.000")])
def test_fixed3_truncates_as_the_reference(tool: Tool, v: float, text: str) -> None:
    assert reference_text(v) == text
    assert tool.ask(f"fixed3 {v!r}")[0] == text


def test_fixed3_every_int8_softmax_output(tool: Tool) -> None:
    """All 256 int8 softmax outputs (scale 1/256, zero point -128) print exactly as the reference's."""
    values = [(q + 128) / 256 for q in range(-128, 128)]
    got = tool.ask("fixed3s " + " ".join(repr(v) for v in values), until_dot=True)
    assert got == [reference_text(v) for v in values]


@pytest.mark.slow
def test_libfuzzer_finds_nothing(repo_root: Path, tmp_path: Path) -> None:
    """A short libFuzzer run over the frame receiver, COBS, CRC and the MLPerf parser (clang)."""
    import shutil

    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed")
    exe = tmp_path / "fuzz_protocol"
    srcs = ["tests/c/fuzz_protocol.c", *SRC[1:]]
    build = subprocess.run([clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
                            "-I", str(repo_root / "firmware/include"), *[str(repo_root / s) for s in srcs],
                            "-o", str(exe)], capture_output=True, text=True)
    if build.returncode != 0 and "fuzzer" in build.stderr:
        pytest.skip("this clang has no libFuzzer runtime")
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "frame").write_bytes(P.encode_frame(P.Cmd.LOAD_INPUT, 3, b"\x00\x00\x00\x00abc"))
    (corpus / "text").write_bytes(b"db load 8%db 0011223344556677%infer 2 1%results%")
    # libFuzzer's RSS limit reads the peak RSS, which Linux carries across execve: a pytest worker that
    # held 2.1 GB (TensorFlow, trained models) made the fuzzer stop at once with "out-of-memory". The limit
    # goes on single allocations instead.
    r = subprocess.run([str(exe), "-max_total_time=4", "-seed=1", "-rss_limit_mb=0", "-malloc_limit_mb=2048",
                        str(corpus)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]

"""Soak a device's serial line: thousands of valid, broken and foreign frames, then check it still works.

Why: a device on a bench sees line noise, half frames after a host crash, a
host speaking the other protocol, and requests it must refuse; it has to keep
serving through all of it with its stack inside budget. The driver talks to any
edgekws device through ``DeviceClient`` (QEMU's UART on TCP in the soak test,
the host-board server elsewhere) and is shared by tests/test_soak_emulator.py
and benchmarks/robustness.py so the figures are exactly what CI checks.

Units (one "frame" each in the count): valid requests (HELLO, ECHO, LOAD_INPUT,
READ_INPUT, MEMORY, LAYER_INFO, INFER), frames with a corrupt CRC, truncated
frames, oversized frames (too long on the wire or a length field above the
maximum), runs of random garbage, and MLPerf Tiny text sessions entered by the
"name%" escape or CMD_SET_MODE and left by "edgekws%".
"""

from __future__ import annotations

import random
import struct
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from edgekws.device import protocol as P
from edgekws.device.client import DeviceClient

KINDS = ("valid", "corrupt_crc", "truncated", "oversized", "garbage", "mlperf")
WEIGHTS = (50, 12, 12, 6, 10, 10)


@dataclass
class SoakStats:
    """What the soak sent and what came back."""

    frames_sent: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    valid_sent: int = 0
    valid_answered: int = 0  # with the right id, sequence, status and content
    wrong_answers: int = 0
    nacks: int = 0
    device_resets: int = 0  # boot banners seen during the soak
    # HELLO probes sent right after each MLPerf session ("edgekws%" back to binary): the first
    # reply after the text. Counted apart because an older server glued its text to this reply
    # (no 0x00 after "m-mode-binary"), so the host dropped it.
    probes_after_mlperf: int = 0
    probes_answered: int = 0
    seconds: float = 0.0
    bytes_sent: int = 0
    stack_used_before: int = 0
    stack_used_after: int = 0
    stack_size: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class _Gen:
    """Deterministic unit generator; remembers what each valid request should get back."""

    def __init__(self, seed: int, input_size: int, num_layers: int) -> None:
        self.rng = random.Random(seed)
        self.input_size = input_size
        self.num_layers = num_layers
        self.seq = 0x1000

    def _next_seq(self) -> int:
        self.seq = self.seq + 1 if self.seq < 0xFFFF else 0x1000
        return self.seq

    def valid(self) -> tuple[bytes, tuple[int, int, bytes | None]]:
        """(wire bytes, (seq, response id, expected body after the status byte or None))."""
        r = self.rng
        seq = self._next_seq()
        pick = r.random()
        if pick < 0.30:
            data = r.randbytes(r.randrange(0, 300))
            return P.encode_frame(P.Cmd.ECHO, seq, data), (seq, P.Cmd.ECHO | P.RESPONSE_BIT, data)
        if pick < 0.55:
            n = r.randrange(1, min(200, self.input_size) + 1)
            off = r.randrange(0, self.input_size - n + 1)
            body = P.load_input_payload(off, r.randbytes(n))
            return P.encode_frame(P.Cmd.LOAD_INPUT, seq, body), (seq, P.Cmd.LOAD_INPUT | P.RESPONSE_BIT,
                                                                 struct.pack("<I", off + n))
        if pick < 0.70:
            return P.encode_frame(P.Cmd.HELLO, seq), (seq, P.Cmd.HELLO | P.RESPONSE_BIT, None)
        if pick < 0.80:
            return P.encode_frame(P.Cmd.MEMORY, seq), (seq, P.Cmd.MEMORY | P.RESPONSE_BIT, None)
        if pick < 0.90:
            idx = r.randrange(0, self.num_layers)
            return (P.encode_frame(P.Cmd.LAYER_INFO, seq, struct.pack("<H", idx)),
                    (seq, P.Cmd.LAYER_INFO | P.RESPONSE_BIT, None))
        if pick < 0.97:
            n = r.randrange(1, min(64, self.input_size) + 1)
            return (P.encode_frame(P.Cmd.READ_INPUT, seq, struct.pack("<IH", 0, n)),
                    (seq, P.Cmd.READ_INPUT | P.RESPONSE_BIT, None))
        return P.encode_frame(P.Cmd.INFER, seq, b"\x00\x00\x01\x00"), (seq, P.Cmd.INFER | P.RESPONSE_BIT, None)

    def broken(self, kind: str) -> bytes:
        r = self.rng
        if kind == "corrupt_crc":
            raw = bytearray(P.frame_raw(P.Cmd.ECHO, self._next_seq(), r.randbytes(r.randrange(0, 64))))
            i = r.randrange(0, len(raw))
            raw[i] ^= 1 << r.randrange(8)
            return b"\x00" + P.cobs_encode(bytes(raw)) + b"\x00"
        if kind == "truncated":
            wire = P.encode_frame(P.Cmd.LOAD_INPUT, self._next_seq(), P.load_input_payload(0, r.randbytes(64)))
            return wire[: r.randrange(2, len(wire) - 1)] + b"\x00"
        if kind == "oversized":
            if r.random() < 0.5:
                return b"\x00" + bytes(r.randrange(1, 256) for _ in range(P.cobs_max(P.MAX_FRAME) + 200)) + b"\x00"
            header = struct.pack("<BBHH", P.PROTO_VERSION, P.Cmd.ECHO, self._next_seq(), 0xFFFF)
            raw = header + r.randbytes(32)
            return b"\x00" + P.cobs_encode(raw + struct.pack("<I", P.crc32(raw))) + b"\x00"
        if kind == "garbage":
            junk = bytearray(r.randbytes(r.randrange(1, 400)))
            # never the MLPerf escape by accident
            return bytes(junk).replace(b"name%", b"nam_%") + b"\x00"
        if kind == "mlperf":
            cmds = r.sample([b"profile%", b"help%", b"db load 4%", b"db 01020304%", b"results%", b"timestamp%",
                             b"db print 4%", b"bogus cmd%", b"db zz%", b"x" * 40 + b"%"], 4)
            if r.random() < 0.5:
                enter = b"\x00name%"
            else:
                enter = P.encode_frame(P.Cmd.SET_MODE, self._next_seq(), b"\x01")
            return enter + b"".join(cmds) + b"%edgekws%"
        raise ValueError(kind)


def _check_reply(f: P.Frame, expect: tuple[int, int, bytes | None]) -> bool:
    _seq, want, body = expect
    if f.cmd != want or f.status != P.Status.OK:
        return False
    return body is None or f.payload[1:] == body


def soak(client: DeviceClient, n_frames: int = 10_000, seed: int = 8, batch: int = 20,
         reply_timeout: float = 20.0) -> SoakStats:
    """Send ``n_frames`` units in batches; after each batch wait for every valid request's answer."""
    hello = client.hello_info or client.hello()
    gen = _Gen(seed, hello.input_size, max(1, hello.num_layers))
    stats = SoakStats()
    mem = client.memory()
    stats.stack_used_before, stats.stack_size = mem.stack_used, mem.stack_size
    kinds: Counter[str] = Counter()
    t0 = time.monotonic()
    sent = 0
    probes: set[int] = set()
    while sent < n_frames:
        wire = bytearray()
        expected: dict[int, tuple[int, int, bytes | None]] = {}
        for _ in range(min(batch, n_frames - sent)):
            kind = gen.rng.choices(KINDS, WEIGHTS)[0]
            kinds[kind] += 1
            if kind == "valid":
                data, exp = gen.valid()
                expected[exp[0]] = exp
            else:
                data = gen.broken(kind)
                if kind == "mlperf":
                    probe = gen._next_seq()
                    probes.add(probe)
                    stats.probes_after_mlperf += 1
                    data += P.encode_frame(P.Cmd.HELLO, probe)
            wire += data
            sent += 1
        stats.valid_sent += len(expected)
        stats.bytes_sent += len(wire)
        client.write_raw(bytes(wire))
        deadline = time.monotonic() + reply_timeout
        while expected and time.monotonic() < deadline:
            f = client.read_frame(0.2)
            if f is None:
                continue
            if f.cmd == P.Evt.BOOT:
                stats.device_resets += 1
            elif f.cmd == P.Evt.NACK:
                stats.nacks += 1
            elif f.seq in probes:
                probes.discard(f.seq)
                stats.probes_answered += 1
            elif f.seq in expected:
                if _check_reply(f, expected.pop(f.seq)):
                    stats.valid_answered += 1
                else:
                    stats.wrong_answers += 1
    # collect trailing NACKs/text, then the figures the device keeps
    while (f := client.read_frame(0.3)) is not None:
        if f.cmd == P.Evt.BOOT:
            stats.device_resets += 1
        elif f.cmd == P.Evt.NACK:
            stats.nacks += 1
        elif f.seq in probes:
            probes.discard(f.seq)
            stats.probes_answered += 1
    stats.seconds = round(time.monotonic() - t0, 2)
    stats.frames_sent = sent
    stats.by_kind = dict(kinds)
    stats.stack_used_after = client.memory().stack_used
    return stats

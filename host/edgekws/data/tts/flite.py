"""CMU Flite engine: voices kal16 (diphone), awb, rms, slt (clustergen); BSD-style CMU licence.

Flite's statistical-parametric voices sound closer to recorded people than
espeak-ng's formants; one run is ~20 ms. The 8 kHz ``kal`` and the
``awb_time`` demo voice are left out.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from edgekws.data.tts import Utterance, find_program, program_version, to_rate
from edgekws.errors import DatasetError

VOICES: tuple[str, ...] = ("kal16", "awb", "rms", "slt")
# Approximate mean F0 (Hz) of each voice: the centre of the pitch range the planner draws from.
BASE_F0: dict[str, float] = {"kal16": 105.0, "awb": 115.0, "rms": 100.0, "slt": 170.0}


def binary() -> str:
    """Path of flite, or a one-line DatasetError saying how to get it."""
    return find_program("flite", "flite")


def _version() -> str:
    return program_version(binary())


class FliteEngine:
    """flite through its command line; rate via ``duration_stretch``, pitch via ``int_f0_target_mean``."""

    name = "flite"
    licence = "BSD-style CMU licence (flite, Debian package flite)"
    supports_pitch = True

    def check(self) -> None:
        """Raise when flite is missing."""
        binary()

    def version(self) -> str:
        """flite's version line."""
        return _version()

    def voices(self) -> tuple[str, ...]:
        """The four 16 kHz English voices."""
        return VOICES

    def synthesize(self, utts: Sequence[Utterance], workdir: Path) -> list[np.ndarray]:
        """One flite run per request; pitch -1..1 moves the mean F0 by -5..+5 semitones."""
        out = []
        for u in utts:
            if u.voice not in VOICES:
                raise DatasetError(f"unknown flite voice {u.voice!r} (known: {', '.join(VOICES)})")
            wav = Path(tempfile.mkstemp(suffix=".wav", dir=workdir)[1])
            f0 = BASE_F0[u.voice] * 2.0 ** (5.0 * float(np.clip(u.pitch, -1, 1)) / 12.0)
            cmd = [binary(), "-voice", u.voice, "--setf", f"duration_stretch={1.0 / max(u.rate, 0.25):.4f}",
                   "--setf", f"int_f0_target_mean={f0:.1f}", "-t", u.text, "-o", str(wav)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
                if proc.returncode != 0:
                    detail = (proc.stderr.strip().splitlines() or ["no message"])[0]
                    raise DatasetError(f"flite failed for voice {u.voice}: {detail}")
                x, rate = sf.read(str(wav), dtype="float32", always_2d=False)
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
                raise DatasetError(f"flite failed for voice {u.voice}: {exc}") from None
            finally:
                wav.unlink(missing_ok=True)
            out.append(to_rate(x, int(rate)))
        return out

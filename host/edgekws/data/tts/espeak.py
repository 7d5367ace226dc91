"""espeak-ng engine: formant synthesis, 8 English accents x 100 voice variants (GPL-3.0-or-later).

espeak-ng is the cheapest engine (~60 ms a word, mostly process start) and the
one whose clips alone gave the best single-engine model on real speech, so it
keeps the largest share of the data; its robotic timbre is what the other
engines and the channel augmentation are there to break up.
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

ACCENTS: tuple[str, ...] = (
    "en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
)
# Human-sounding variants of espeak-ng's voices/!v folder (the robot, whisper and
# effect variants are left out: no user sounds like them).
VARIANTS: tuple[str, ...] = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo",
    "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Mr serious", "Nguyen", "Storm", "adam", "anika",
    "announcer", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward",
    "edward2", "gustave", "grandma", "grandpa", "iven", "iven2", "iven3", "iven4", "john", "kaukovalta",
    "linda", "marcelo", "max", "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob",
    "robert", "sandro", "shelby", "steph", "steph2", "steph3", "travis", "victor", "zac",
)
NATIVE_RATE = 22050


def binary() -> str:
    """Path of espeak-ng, or a one-line DatasetError saying how to get it."""
    return find_program("espeak-ng", "espeak-ng")


def run_espeak(text: str, voice: str, speed: int, pitch: int, amplitude: int, workdir: Path) -> np.ndarray:
    """Speak ``text`` with espeak-ng; float32 mono at espeak's native 22050 Hz."""
    wav = Path(tempfile.mkstemp(suffix=".wav", dir=workdir)[1])
    try:
        cmd = [binary(), "-w", str(wav), "-v", voice, "-s", str(speed), "-p", str(pitch),
               "-a", str(amplitude), text]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no message"])[0]
            raise DatasetError(f"espeak-ng failed for voice {voice}: {detail}")
        x, rate = sf.read(str(wav), dtype="float32", always_2d=False)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        raise DatasetError(f"espeak-ng failed for voice {voice}: {exc}") from None
    finally:
        wav.unlink(missing_ok=True)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate != NATIVE_RATE:
        raise DatasetError(f"espeak-ng wrote {rate} Hz audio, expected {NATIVE_RATE}")
    return np.asarray(x, dtype=np.float32)


def _version() -> str:
    return program_version(binary()).split("Data at")[0].strip()


class EspeakEngine:
    """espeak-ng through its command line; a voice is ``accent`` or ``accent+variant``."""

    name = "espeak"
    licence = "GPL-3.0-or-later (espeak-ng, Debian package espeak-ng)"
    supports_pitch = True

    def check(self) -> None:
        """Raise when espeak-ng is missing."""
        binary()

    def version(self) -> str:
        """espeak-ng's version line."""
        return _version()

    def voices(self) -> tuple[str, ...]:
        """Every accent x variant pair."""
        return tuple(a if not v else f"{a}+{v}" for a in ACCENTS for v in VARIANTS)

    def synthesize(self, utts: Sequence[Utterance], workdir: Path) -> list[np.ndarray]:
        """One espeak-ng run per request: rate 1.0 = 175 words/min, pitch -1..1 = espeak 10..90."""
        out = []
        for u in utts:
            speed = int(np.clip(round(175 * u.rate), 80, 450))
            pitch = int(np.clip(round(50 + 40 * u.pitch), 0, 99))
            out.append(to_rate(run_espeak(u.text, u.voice, speed, pitch, 100, workdir), NATIVE_RATE))
        return out

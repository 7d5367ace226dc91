"""Festival engine with the Debian festvox voices (Festival: X11-style licence; voices: free licences).

Voices: ``kal_diphone`` and ``ked_diphone`` (American English male diphone voices,
festvox-kallpc16k / festvox-kdlpc16k) and ``cmu_us_slt_arctic_hts`` (US English
female HTS voice, festvox-us-slt-hts, 32 kHz). Starting festival costs ~0.5 s,
so a whole batch of requests is rendered by one ``festival -b`` run of a
generated Scheme script. Pitch is not changed here (the diphone and HTS voices
take it in different, voice-specific ways); the channel augmentation's pitch
shift varies it instead.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from edgekws.data.tts import Utterance, find_program, program_version, to_rate
from edgekws.errors import DatasetError

VOICES: tuple[str, ...] = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
PACKAGES = "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"


def binary() -> str:
    """Path of festival, or a one-line DatasetError saying how to get it."""
    return find_program("festival", PACKAGES)


def _version() -> str:
    return program_version(binary())


def _scheme_string(text: str) -> str:
    """A Scheme string literal (the words are plain ASCII; quotes and backslashes escaped anyway)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalEngine:
    """festival in batch mode; rate via ``Duration_Stretch``."""

    name = "festival"
    licence = "X11-style Festival licence (festival); festvox voices: free licences (Debian festvox-*)"
    supports_pitch = False

    def check(self) -> None:
        """Raise when festival is missing."""
        binary()

    def version(self) -> str:
        """festival's version line."""
        return _version()

    def voices(self) -> tuple[str, ...]:
        """The English voices of the Debian festvox packages this project installs."""
        return VOICES

    def synthesize(self, utts: Sequence[Utterance], workdir: Path) -> list[np.ndarray]:
        """Render all requests with one festival process; a voice that is not installed is one error line."""
        if not utts:
            return []
        tmp = Path(tempfile.mkdtemp(prefix="festival-", dir=workdir))
        try:
            lines = []
            wavs = []
            for i, u in enumerate(utts):
                if u.voice not in VOICES:
                    raise DatasetError(f"unknown festival voice {u.voice!r} (known: {', '.join(VOICES)})")
                wav = tmp / f"{i}.wav"
                wavs.append(wav)
                lines.append(f"(voice_{u.voice})")
                lines.append(f"(Parameter.set 'Duration_Stretch {1.0 / max(u.rate, 0.25):.4f})")
                lines.append(f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(u.text)})) "
                             f"{_scheme_string(str(wav))} 'riff)")
            script = tmp / "batch.scm"
            script.write_text("\n".join(lines) + "\n", encoding="ascii")
            try:
                proc = subprocess.run([binary(), "-b", str(script)], capture_output=True, text=True,
                                      timeout=60 + 5 * len(utts))
            except (OSError, subprocess.SubprocessError) as exc:
                raise DatasetError(f"festival failed: {exc}") from None
            out = []
            for u, wav in zip(utts, wavs, strict=True):
                if not wav.is_file():
                    err = " ".join(proc.stderr.split())[:200] or f"exit {proc.returncode}"
                    raise DatasetError(f"festival wrote no audio for voice {u.voice} "
                                       f"(is its festvox package installed? {err})")
                x, rate = sf.read(str(wav), dtype="float32", always_2d=False)
                out.append(to_rate(x, int(rate)))
            return out
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

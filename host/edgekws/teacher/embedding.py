"""Google's speech embedding (via the openwakeword 0.5.1 ONNX files) run with onnxruntime.

Why this teacher: it was pre-trained on a large amount of real speech, so a small head on top of
it, trained only on synthetic voices, already understands real people far better than a small
CNN trained on the same synthetic clips. It is a host-side model (328 k parameters, ~42 M MACs
per window), used to label and weight audio for the on-device student, never deployed itself.

Input conventions, read off the two ONNX graphs:
- ``melspectrogram.onnx``: input ``input`` float32 ``[batch, samples]`` holding 16 kHz audio on
  the int16 scale (a float clip in [-1, 1] times 32767); output ``[batch, 1, frames, 32]`` log-mel
  frames every 10 ms (``frames = samples / 160 - 3``: 97 for one second).
- the embedding graph was trained on the TF-Hub module's own log-mel scale; the affine map
  ``mel / 10 + 2`` brings the ONNX melspectrogram onto it (the wheel applies the same map).
- ``embedding_model.onnx``: input ``input_1`` float32 ``[N, 76, 32, 1]`` (76 frames = 0.775 s),
  output ``[N, 1, 1, 96]``. Windows hop 8 frames (80 ms), so a 1 s clip gives 3 embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekws.errors import AudioError
from edgekws.teacher.cache import TeacherCacheError, TeacherFiles, verify

SAMPLE_RATE = 16000
MEL_BINS = 32
WINDOW_FRAMES = 76
HOP_FRAMES = 8
EMBED_DIM = 96
INT16_SCALE = 32767.0


def mel_frames(samples: int) -> int:
    """Number of mel frames the ONNX melspectrogram returns for ``samples`` samples."""
    return samples // 160 - 3


def num_windows(samples: int) -> int:
    """How many 76-frame embedding windows (hop 8) fit into a clip of ``samples`` samples."""
    frames = mel_frames(samples)
    return 0 if frames < WINDOW_FRAMES else (frames - WINDOW_FRAMES) // HOP_FRAMES + 1


class SpeechEmbedding:
    """Two onnxruntime sessions: audio -> log-mel -> 96-dim embeddings per 0.775 s window."""

    def __init__(self, files: TeacherFiles | str | Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        if not isinstance(files, TeacherFiles):
            files = verify(files)  # sha256 of both files: a corrupted cache is one error line
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self.files = files
        try:
            self._mel = ort.InferenceSession(str(files.melspectrogram), opts, providers=providers)
            self._emb = ort.InferenceSession(str(files.embedding), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types with long text
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TeacherCacheError(f"onnxruntime cannot load the teacher in {files.directory}: {first}") from None

    def melspectrogram(self, audio: np.ndarray) -> np.ndarray:
        """``[N, samples]`` float audio in [-1, 1] -> ``[N, frames, 32]`` on the embedding's scale."""
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] < 160 * (WINDOW_FRAMES + 3):
            raise AudioError(f"teacher needs [N, >= {160 * (WINDOW_FRAMES + 3)}] samples, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise AudioError("teacher input has NaN or infinite samples")
        out = self._mel.run(None, {"input": np.clip(x, -1.0, 1.0) * np.float32(INT16_SCALE)})[0]
        return (out[:, 0] / 10.0 + 2.0).astype(np.float32)

    def embed_mel(self, mel: np.ndarray, batch: int = 256) -> np.ndarray:
        """``[N, frames, 32]`` -> ``[N, windows, 96]`` (windows of 76 frames, hop 8)."""
        n, frames, _ = mel.shape
        starts = list(range(0, frames - WINDOW_FRAMES + 1, HOP_FRAMES))
        wins = np.stack([mel[:, s : s + WINDOW_FRAMES] for s in starts], axis=1)  # [N, W, 76, 32]
        flat = wins.reshape(-1, WINDOW_FRAMES, MEL_BINS, 1)
        outs = [self._emb.run(None, {"input_1": flat[i : i + batch]})[0] for i in range(0, len(flat), batch)]
        return np.concatenate(outs).reshape(n, len(starts), EMBED_DIM).astype(np.float32)

    def embed(self, audio: np.ndarray, batch: int = 64) -> np.ndarray:
        """``[N, samples]`` float audio -> ``[N, windows, 96]`` embeddings (3 windows for 1 s clips)."""
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        outs = [self.embed_mel(self.melspectrogram(x[i : i + batch])) for i in range(0, len(x), batch)]
        if not outs:
            return np.zeros((0, num_windows(x.shape[1]), EMBED_DIM), np.float32)
        return np.concatenate(outs)

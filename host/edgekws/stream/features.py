"""Audio chunks in, quantized int8 feature frames out, exactly as the model sees them.

The frontend takes frame ``t`` from samples ``[t*hop, t*hop + win)`` with no
centering, so computing frames as audio arrives gives the same numbers as
computing them on the whole clip; this class only keeps the samples that a
future frame still needs. Frames are normalised with the bundle's
``input_norm`` and quantized with the model's input scale/zero point with the
device's float32 operations (:func:`edgekws.frontend.device.quantize_features`).
With ``FrontendConfig(exact="device")`` the frames are bit-identical to what
the C frontend (``fe_push_hop``) produces from the same int16 audio.

The TFLM frontend (``kind="tflm-micro"``) carries a noise estimate from frame to
frame, so its frames are computed with that state carried on (as ``fe_push_hop``
does), never from a fresh start per chunk.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgekws.frontend import FrontendConfig, compute_features

#: ``float32 audio [n] (n = (k-1)*hop + win) -> int8 frames [k, feats]``; the default is the host
#: frontend; a device-exact frontend (bit-identical to the C one) can be plugged in instead.
FrameFn = Callable[[np.ndarray], np.ndarray]


class FeatureStreamer:
    """Turns a stream of audio chunks into int8 feature frames, one per hop."""

    def __init__(self, frontend: FrontendConfig, mean: np.ndarray, std: np.ndarray, scale: float,
                 zero_point: int, frame_fn: FrameFn | None = None) -> None:
        self.frontend = frontend
        self._mean = np.asarray(mean, np.float32)
        self._std = np.asarray(std, np.float32)
        self._scale = float(scale)
        self._zp = int(zero_point)
        self._frame_fn = frame_fn or self._host_frames
        self._buf = np.zeros(0, np.float32)  # starts at the next frame's first sample
        self._micro_state = None  # the TFLM frontend's noise estimate (kind="tflm-micro")
        self.frames_out = 0

    def _host_frames(self, audio: np.ndarray) -> np.ndarray:
        from edgekws.frontend.device import quantize_features

        if self.frontend.kind == "tflm-micro":
            feats = self._micro_frames(audio)
        else:
            # compute_features follows frontend.exact: "device" gives the C frontend's bits
            feats = compute_features(audio, self.frontend)
        return quantize_features(feats, self._mean, self._std, self._scale, self._zp)

    def _micro_frames(self, audio: np.ndarray) -> np.ndarray:
        """The next frames of the TFLM frontend, its noise estimate carried on from the last call."""
        from edgekws.frontend.features import frame_signal
        from edgekws.frontend.micro import MicroState, micro_frames, to_pcm16

        cfg = self.frontend
        if self._micro_state is None:
            self._micro_state = MicroState.zeros(1, cfg.n_mels)
        frames = frame_signal(to_pcm16(audio), cfg)
        return micro_frames(frames[None], cfg, self._micro_state)[0].astype(np.float32)

    def push(self, audio: np.ndarray) -> np.ndarray:
        """Append float32 samples; returns the newly complete frames ``[k, feats]`` int8 (k may be 0)."""
        cfg = self.frontend
        self._buf = np.concatenate([self._buf, np.asarray(audio, np.float32).reshape(-1)])
        k = cfg.num_frames(len(self._buf))
        if k == 0:
            return np.zeros((0, cfg.num_features), np.int8)
        frames = np.asarray(self._frame_fn(self._buf[: (k - 1) * cfg.hop_length + cfg.win_length]), np.int8)
        self._buf = self._buf[k * cfg.hop_length:]
        self.frames_out += k
        return frames.reshape(k, cfg.num_features)

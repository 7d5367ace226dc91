"""The one audio feature frontend shared by every model in edgekws.

``FrontendConfig`` describes it (presets via ``get_preset``), ``compute_features``
computes it on one clip ``[n]`` or a batch ``[N, n]``. The constant tables
(``hann_window``, ``mel_filterbank``, ``dct_matrix``) are public so the firmware
code generator emits the very numbers the host uses.
"""

from edgekws.frontend.config import (
    DEFAULT_PRESET,
    FRONTEND_VERSION,
    PRESETS,
    FrontendConfig,
    get_preset,
    load_config,
    preset_names,
)
from edgekws.frontend.features import (
    as_audio_array,
    compute_features,
    dct_matrix,
    frame_signal,
    hann_window,
    hz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    mel_to_hz,
    power_spectrum,
    summarize_features,
)

__all__ = [
    "DEFAULT_PRESET",
    "FRONTEND_VERSION",
    "PRESETS",
    "FrontendConfig",
    "as_audio_array",
    "compute_features",
    "dct_matrix",
    "frame_signal",
    "get_preset",
    "hann_window",
    "hz_to_mel",
    "load_config",
    "log_mel_spectrogram",
    "mel_filterbank",
    "mel_to_hz",
    "power_spectrum",
    "preset_names",
    "summarize_features",
]

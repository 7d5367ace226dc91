"""User-facing errors.

Anything a user can cause (bad audio, a corrupt bundle, a board that stops
answering) raises an :class:`EdgeKwsError` subclass with a message that fits on
one line. The CLI prints it as ``error: <message>`` and exits non-zero; it never
shows a traceback for these.
"""

from __future__ import annotations


class EdgeKwsError(Exception):
    """Base class of every error the CLI reports as a one-line message."""

    exit_code = 2


class AudioError(EdgeKwsError):
    """Unreadable, empty, non-finite or too-short audio."""


class ConfigError(EdgeKwsError):
    """Invalid configuration, recipe or preset name."""


class DatasetError(EdgeKwsError):
    """Missing or malformed dataset layout."""


class BundleError(EdgeKwsError):
    """Corrupt, incomplete or mismatched model bundle."""


class ModelError(EdgeKwsError):
    """A model that cannot be handled (unsupported op, not int8, too big)."""


class FirmwareError(EdgeKwsError):
    """Firmware build, flash or memory-fit failure."""


class DeviceError(EdgeKwsError):
    """Board or emulator did not answer, answered wrongly, or vanished."""

    exit_code = 3

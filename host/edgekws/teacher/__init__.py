"""The real-speech teacher: Google's speech embedding (pinned ONNX files) plus a small head.

Host-side only: it labels and weights synthetic audio for the on-device student
(:mod:`edgekws.train.distill`). onnxruntime is imported lazily, so importing this package is cheap.
"""

from edgekws.teacher.cache import TeacherCacheError, default_dir, fetch, is_installed, verify

__all__ = ["TeacherCacheError", "default_dir", "fetch", "is_installed", "verify"]

"""pytest plugin: every host C build of tests/cbuild.py gets -fsanitize=address,undefined.

Why: the other areas' C unit tests load their firmware C through ctypes
(tests/cbuild.py). tests/test_sanitized_c.py reruns those test modules in a
subprocess with ``-p sanitize_plugin`` and libasan preloaded, so the same tests
exercise the same C with AddressSanitizer and UBSan (aborting on the first
report) without any change to their files.
"""

from __future__ import annotations

import cbuild

SAN_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")
_original_cc = cbuild._cc


def _sanitized_cc(args: list[str]) -> None:
    if any(a.startswith("-fsanitize") for a in args):  # already sanitized by its own test
        _original_cc(args)
    else:
        _original_cc([*SAN_FLAGS, *args])


cbuild._cc = _sanitized_cc

"""Load tools/fuzz.py as a module for the fuzz tests (tools/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "tools" / "fuzz.py"


def load():  # noqa: ANN201 - the module object
    """The tools/fuzz.py module (imported once)."""
    if "edgekws_fuzz_tool" not in sys.modules:
        spec = importlib.util.spec_from_file_location("edgekws_fuzz_tool", _PATH)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["edgekws_fuzz_tool"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["edgekws_fuzz_tool"]

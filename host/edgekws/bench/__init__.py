"""The serial benchmark harness behind ``tools/bench.py`` and ``edgekws bench``.

One job per module:

* :mod:`~edgekws.bench.config` - :class:`BenchConfig` (what the CLI flags fill in)
* :mod:`~edgekws.bench.inputs` - the bundle's test split and the TFLite Micro reference
* :mod:`~edgekws.bench.log` - JSONL results, appended as they arrive, for ``--resume``
* :mod:`~edgekws.bench.stats` - pure summaries (latency per layer/frame, accuracy, agreement)
* :mod:`~edgekws.bench.modes` - the latency / accuracy / audio loops over a device client
* :mod:`~edgekws.bench.emulate` - build if needed and start QEMU for ``--emulate``
* :mod:`~edgekws.bench.report` - merge the figures into report.json (atomic)
* :mod:`~edgekws.bench.runner` - :func:`run_bench`: all of the above, with fault handling
"""

from edgekws.bench.config import BenchConfig
from edgekws.bench.runner import run_bench

__all__ = ["BenchConfig", "run_bench"]

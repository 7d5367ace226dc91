"""The measurement loops: latency, accuracy and audio, over a connected DeviceClient.

Each loop writes one JSONL record per finished item (through ResultLog) before
starting the next, skips items already in the log (``--resume``), and survives
a device reset: the boot banner raises DeviceResetError, the loop says hello
again and repeats the item (the device lost its input), up to ``max_resets``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from edgekws.bench.inputs import BenchData, TflmReference
from edgekws.bench.log import ResultLog
from edgekws.device.client import DeviceClient, DeviceResetError
from edgekws.errors import DeviceError

T = TypeVar("T")


class ResetBudget:
    """Bounded recovery from device resets in the middle of a run."""

    def __init__(self, client: DeviceClient, max_resets: int, note: Callable[[str], None]) -> None:
        self.client = client
        self.max_resets = max_resets
        self.resets = 0
        self.note = note

    def call(self, what: str, fn: Callable[[], T], on_reset: Callable[[], None] | None = None) -> T:
        """fn(), repeated after each device reset (after ``on_reset``) within the budget."""
        while True:
            try:
                return fn()
            except DeviceResetError as exc:
                self.resets += 1
                if self.resets > self.max_resets:
                    raise DeviceError(f"device reset {self.resets} times during the run (last during {what}); "
                                      "giving up") from exc
                self.note(f"device reset during {what} (boot banner); reconnecting and repeating it")
                self.client.connect()
                if on_reset is not None:
                    on_reset()


@contextmanager
def progress_bar(enabled: bool, description: str, total: int, completed: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar (or nothing); yields a function that advances it by one."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False) as prog:
        task = prog.add_task(description, total=total, completed=completed)
        yield lambda: prog.advance(task)


def run_latency(client: DeviceClient, x: np.ndarray, runs: int, warmup: int, log: ResultLog,
                budget: ResetBudget, progress: bool = True) -> None:
    """``warmup`` unrecorded inferences, then ``runs`` recorded ones (total and per-layer ticks)."""
    done = log.done("latency")
    todo = [i for i in range(runs) if i not in done]
    if not todo:
        return

    state = {"loaded": False}

    def forget() -> None:
        state["loaded"] = False  # the reset cleared the input tensor

    def one() -> Any:
        if not state["loaded"]:
            client.load_input(x)
            for _ in range(warmup):
                client.infer()
            state["loaded"] = True
        client.infer()
        return client.results()

    with progress_bar(progress, "latency", runs, runs - len(todo)) as advance:
        for i in todo:
            res = budget.call(f"latency run {i}", one, on_reset=forget)
            log.append({"kind": "latency", "index": i, "total": res.total_ticks, "layers": res.layer_ticks,
                        "unit": res.unit})
            advance()


def run_accuracy(client: DeviceClient, data: BenchData, ref: TflmReference, indices: list[int], log: ResultLog,
                 budget: ResetBudget, progress: bool = True) -> None:
    """Every test input through the device, compared with TFLite Micro layer by layer: the output byte
    for byte, and (LAYER_CHECK) the logits and the CRC-32 of every layer's output tensor.

    Why per layer: the softmax output of a trained model is saturated for most clips, so equal outputs
    say little; one record per clip keeps the first mismatching layer (index, what differed).
    """
    from edgekws.device.client import DeviceCommandError
    from edgekws.device.protocol import Status
    from edgekws.export.layer_check import first_mismatch

    done = log.done("accuracy")
    todo = [i for i in indices if i not in done]

    def one(x: np.ndarray) -> Any:
        res = client.run(x)
        try:
            chk = client.layer_check()
        except DeviceCommandError as exc:
            if exc.status == Status.UNKNOWN_CMD:
                raise DeviceError("the firmware does not answer LAYER_CHECK (built before the layer-by-layer "
                                  "check): rebuild and flash it") from exc
            raise
        return res, chk

    with progress_bar(progress, "accuracy", len(indices), len(indices) - len(todo)) as advance:
        for i in todo:
            x = data.x_int8[i]
            res, chk = budget.call(f"test item {i}", lambda x=x: one(x))
            want = ref.check(i, x)
            out = np.asarray(res.output, dtype=np.int8)
            bad = first_mismatch(want, chk.layer_crc, chk.logits, out)
            rec: dict[str, Any] = {
                "kind": "accuracy", "index": i, "label": int(data.y[i]), "pred": int(np.argmax(out)),
                "ref_pred": int(np.argmax(want.output)), "match": bool(np.array_equal(out, want.output)),
                "layers_exact": bad is None, "layers_checked": len(want.layer_crc),
                "output": out.tolist(), "total": res.total_ticks, "unit": res.unit}
            if bad is not None:
                rec["first_mismatch"] = {"layer": bad.layer, "what": bad.what, "got": bad.got, "want": bad.want}
            log.append(rec)
            advance()


def run_audio(client: DeviceClient, data: BenchData, ref: TflmReference, indices: list[int], log: ResultLog,
              budget: ResetBudget, samples: int, progress: bool = True) -> None:
    """Raw clips to the device (feature extraction on the device), decisions vs label and host pipeline."""
    if data.audio is None:
        raise DeviceError("the bundle's testset.npz has no audio_int16: audio mode needs the raw clips")
    done = log.done("audio")
    todo = [i for i in indices if i not in done]
    with progress_bar(progress, "audio", len(indices), len(indices) - len(todo)) as advance:
        for i in todo:
            clip = np.zeros(samples, np.int16)
            src = data.audio[i][:samples]
            clip[:len(src)] = src
            res = budget.call(f"clip {i}", lambda clip=clip: client.run_audio(clip))
            out = np.asarray(res.output, dtype=np.int8)
            want = ref.output(i, data.x_int8[i])
            log.append({"kind": "audio", "index": i, "label": int(data.y[i]), "pred": int(np.argmax(out)),
                        "ref_pred": int(np.argmax(want)), "match_host_int8": bool(np.array_equal(out, want)),
                        "frontend_ticks": res.frontend_ticks, "total": res.total_ticks, "unit": res.unit})
            advance()

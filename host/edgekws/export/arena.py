"""Static activation-arena planning, done on the host at export time.

Why: the firmware has no heap. Every activation tensor gets a fixed byte
offset inside one arena; two tensors may share bytes only when their
lifetimes (from the operator that writes them to the last operator that
reads them) do not overlap. RESHAPE is free: its output aliases its input.
The greedy "largest first, lowest fitting offset" strategy is the one TFLite
Micro's GreedyMemoryPlanner uses and is near-optimal for chain-like KWS nets.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekws.export.tflite_graph import Graph

ALIAS_OPS = ("RESHAPE",)


@dataclass(frozen=True)
class Buffer:
    """One arena allocation: ``first``/``last`` are operator indices (inclusive) where it is live."""

    key: int
    size: int
    first: int
    last: int


@dataclass(frozen=True)
class ArenaPlan:
    """Offsets of every activation tensor (aliases share their root's offset) and the arena size."""

    offsets: dict[int, int]
    size: int
    alignment: int
    buffers: tuple[Buffer, ...]


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def greedy_offsets(buffers: list[Buffer], alignment: int = 16) -> tuple[dict[int, int], int]:
    """Place buffers largest first at the lowest aligned offset that clashes with no live neighbour."""
    order = sorted(buffers, key=lambda b: (-b.size, b.first, b.key))
    placed: list[tuple[int, int, Buffer]] = []  # (offset, end, buffer)
    offsets: dict[int, int] = {}
    total = 0
    for b in order:
        clashes = sorted((o, e) for o, e, p in placed if not (p.last < b.first or b.last < p.first))
        offset = 0
        for o, e in clashes:
            if offset + b.size <= o:
                break
            offset = max(offset, _align(e, alignment))
        offsets[b.key] = offset
        placed.append((offset, offset + b.size, b))
        total = max(total, offset + b.size)
    return offsets, _align(total, alignment) if total else 0


def alias_roots(graph: Graph) -> dict[int, int]:
    """Map every activation tensor to the tensor whose memory it uses (itself unless a RESHAPE output)."""
    root: dict[int, int] = {}
    for op in graph.operators:
        if op.op in ALIAS_OPS:
            src = op.inputs[0]
            root[op.outputs[0]] = root.get(src, src)
    return root


def scratch_key(op_index: int) -> int:
    """Key of an operator's scratch buffer in :attr:`ArenaPlan.offsets` (negative: never a tensor index)."""
    return -(op_index + 1)


def plan_arena(graph: Graph, alignment: int = 16, scratch: dict[int, int] | None = None) -> ArenaPlan:
    """Liveness-based plan for all non-constant tensors of ``graph``.

    ``scratch`` maps operator index -> bytes of kernel scratch, live only while that operator runs;
    its offset is ``offsets[scratch_key(op_index)]``.
    """
    roots = alias_roots(graph)
    n_ops = len(graph.operators)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    size: dict[int, int] = {}

    def touch(t: int, when: int) -> None:
        r = roots.get(t, t)
        first[r] = min(first.get(r, when), when)
        last[r] = max(last.get(r, when), when)
        size[r] = max(size.get(r, 0), graph.tensors[t].nbytes)

    for t in graph.inputs:
        touch(t, 0)
    for op in graph.operators:
        for t in op.inputs:
            if t >= 0 and not graph.tensors[t].is_const:
                touch(t, op.index)
        for t in op.outputs:
            touch(t, op.index)
    for t in graph.outputs:
        touch(t, max(n_ops - 1, 0))
    buffers = [Buffer(k, size[k], first[k], last[k]) for k in sorted(size)]
    for i, nbytes in sorted((scratch or {}).items()):
        if nbytes > 0:
            buffers.append(Buffer(scratch_key(i), int(nbytes), i, i))
    offs, total = greedy_offsets(buffers, alignment)
    offsets = dict(offs)
    for t, r in roots.items():
        offsets[t] = offs[r]
    return ArenaPlan(dict(sorted(offsets.items())), total, alignment, tuple(buffers))

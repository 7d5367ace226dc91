"""``edgekws import``: a TFLite model trained elsewhere becomes a complete edgekws bundle.

Why: users of TFLite Micro, Edge Impulse or vendor tool chains arrive with an int8
``.tflite`` of their own. Wrapping it by hand in ``write_bundle`` gave a bundle that
exported but lacked the frontend, normalisation and test set that autotune, the
self-test, bench and evaluate rely on. This module does it the same way every time:

1. graph surgery on the flatbuffer (``tflite_micro``'s schema object API): a float32
   input feeding a QUANTIZE op and a DEQUANTIZE op feeding a float32 output -- what
   the TFLite converter writes for "int8 inside, float outside" -- are removed, so the
   model takes and gives int8 with the QUANTIZE output's scale and zero point, which
   is what our firmware, runner and bundle contract expect (the device quantizes its
   own features with ``input.scale`` / ``input.zero_point``);
2. every remaining operator must be one the firmware runs and pass the C exporter's
   own checks (:func:`edgekws.export.codegen_c.build_layers`): otherwise one line
   naming the layer and the op;
3. with Speech Commands label names (``_silence_``, ``_unknown_`` + words) the outputs
   are put into our order (silence, unknown, then the words as given) by permuting
   the rows of the final fully connected layer -- softmax is permutation-equivariant
   and TFLite Micro's integer sum does not depend on order, so the scores are the
   same numbers, only moved (checked below);
4. the imported model is checked against the original file in TFLite Micro on every
   test input: identical int8 scores (after the permutation), else an error;
5. a test set: the test split of a Speech Commands-layout folder the user names, or
   one synthesised with espeak-ng for the labels, through the bundle's frontend, its
   normalisation and its input quantization (audio kept for the device's audio mode).

The device frontend is not guessed: :func:`edgekws.export.codegen_c.device_frontend_reason`
says whether the firmware can compute the bundle's features; when it cannot, audio
and streaming uses are refused with that one line.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekws.data.speech_commands import SILENCE_LABEL, UNKNOWN_LABEL
from edgekws.errors import ConfigError, DatasetError, ModelError
from edgekws.export.provenance import CREDIT_FROM_FLAG, IMPORTED, ImportProvenance, clean_credit, known_credit

#: Synthesised test-set size per keyword (espeak-ng; about a second per ten clips on one core).
DEFAULT_SYNTH_PER_WORD = 8


@dataclass(frozen=True)
class ImportConfig:
    """What ``edgekws import`` does (the CLI fills it from its flags).

    labels: the model's output classes in the model's order (renames already applied).
    frontend: preset name, JSON file path or config dict: the features the model was trained on.
    norm: ``None`` = the model takes the frontend's features as they are (mean 0, std 1);
    else ``{"mean": [...], "std": [...]}`` per feature (our convention,
    ``q = round(((f - mean) / std) / scale) + zp``).
    testset_data: a Speech Commands-layout folder whose test split becomes the bundle's test
    set; ``None`` synthesises ``synth_per_word`` clips per keyword with espeak-ng.
    reorder: put ``_silence_, _unknown_`` first when the labels name them (our label order).
    credit: the model's licence and training-data credit (one line), kept in the bundle and shown by
    ``edgekws report``; ``None`` fills it only for a file recognised by its pinned sha256
    (:func:`edgekws.export.provenance.known_credit`).
    """

    model: Path
    labels: tuple[str, ...]
    frontend: Any
    out: Path
    name: str | None = None
    norm: dict[str, list[float]] | None = None
    testset_data: Path | None = None
    testset_max: int = 120
    synth_per_word: int = DEFAULT_SYNTH_PER_WORD
    reorder: bool = True
    seed: int = 0
    progress: bool = True
    credit: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "credit", clean_credit(self.credit))
        labels = tuple(str(s).strip() for s in self.labels)
        object.__setattr__(self, "labels", labels)
        if not labels or any(not s for s in labels):
            raise ConfigError("--labels needs a non-empty, comma-separated list of class names")
        if len(set(labels)) != len(labels):
            dup = sorted({s for s in labels if labels.count(s) > 1})
            raise ConfigError(f"--labels names {', '.join(dup)} more than once")
        if self.synth_per_word < 1 or self.testset_max < 1:
            raise ConfigError("the test set needs at least one clip per word")


# ----------------------------------------------------------------------------- labels and normalisation

def parse_labels(spec: str, renames: str | None = None) -> tuple[str, ...]:
    """Labels from ``a,b,c`` or a file with one per line; ``renames`` is ``old=new,old2=new2``.

    Example (the mltk model): ``--labels yes,...,go,unknown,_background_noise_
    --rename unknown=_unknown_,_background_noise_=_silence_``.
    """
    path = Path(spec)
    if "," not in spec and path.is_file():
        names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    else:
        names = [s.strip() for s in spec.split(",")]
    mapping: dict[str, str] = {}
    for item in (renames or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ConfigError(f"--rename expects old=new pairs, got {item!r}")
        old, new = (s.strip() for s in item.split("=", 1))
        if old not in names:
            raise ConfigError(f"--rename: {old!r} is not one of the labels ({', '.join(names)})")
        mapping[old] = new
    return tuple(mapping.get(s, s) for s in names)


def parse_norm(spec: str | None, num_features: int) -> dict[str, list[float]]:
    """``none`` (features as they are), ``MEAN,STD`` (one pair for every feature) or a JSON file
    ``{"mean": [...], "std": [...]}`` (also a bundle.json's ``input_norm``)."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return {"mean": [0.0] * num_features, "std": [1.0] * num_features}
    text = spec.strip()
    path = Path(text)
    if path.suffix.lower() == ".json" or path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read --norm file {path}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--norm file {path} is not valid JSON ({exc.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("input_norm"), dict):
            data = data["input_norm"]
        if not isinstance(data, dict) or "mean" not in data or "std" not in data:
            raise ConfigError(f"--norm file {path} must hold {{\"mean\": [...], \"std\": [...]}}")
        mean, std = data["mean"], data["std"]
    else:
        parts = text.split(",")
        if len(parts) != 2:
            raise ConfigError(f"--norm must be 'none', 'MEAN,STD' or a JSON file, got {spec!r}")
        try:
            m, s = float(parts[0]), float(parts[1])
        except ValueError:
            raise ConfigError(f"--norm MEAN,STD must be two numbers, got {spec!r}") from None
        mean, std = [m] * num_features, [s] * num_features
    try:
        mean_a = np.asarray(mean, np.float64).reshape(-1)
        std_a = np.asarray(std, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError("--norm mean and std must be lists of numbers") from None
    if mean_a.size != num_features or std_a.size != num_features:
        raise ConfigError(f"--norm has {mean_a.size} means and {std_a.size} stds; the frontend gives "
                          f"{num_features} features per frame")
    if not (np.all(np.isfinite(mean_a)) and np.all(np.isfinite(std_a)) and np.all(std_a > 0)):
        raise ConfigError("--norm needs finite means and positive finite stds")
    return {"mean": [float(v) for v in mean_a], "std": [float(v) for v in std_a]}


def canonical_order(labels: tuple[str, ...]) -> list[int] | None:
    """The output permutation that gives our label order (silence, unknown, then the rest as given);
    None when the labels do not name both fillers or are already in that order."""
    if SILENCE_LABEL not in labels or UNKNOWN_LABEL not in labels:
        return None
    rest = [i for i, s in enumerate(labels) if s not in (SILENCE_LABEL, UNKNOWN_LABEL)]
    perm = [labels.index(SILENCE_LABEL), labels.index(UNKNOWN_LABEL), *rest]
    return None if perm == list(range(len(labels))) else perm


# ----------------------------------------------------------------------------- flatbuffer surgery

def _schema() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _unpack(data: bytes) -> Any:
    try:
        return _schema().ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # noqa: BLE001 - flatbuffers raises assorted errors on garbage
        raise ModelError(f"corrupt TFLite flatbuffer ({type(exc).__name__})") from None


def _pack(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _op_name(model: Any, op: Any) -> str:
    from edgekws.export.tflite_graph import _op_names

    oc = model.operatorCodes[op.opcodeIndex]
    code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
    return _op_names().get(code, f"BUILTIN_{code}") if code != 32 else f"CUSTOM:{oc.customCode!r}"


_FLOAT32 = 0
_INT8 = 9


@dataclass(frozen=True)
class Surgery:
    """What :func:`prepare_model` changed: removed boundary ops and the output permutation."""

    removed: tuple[str, ...]
    permutation: tuple[int, ...] | None


def _strip_io_quantization(model: Any) -> list[str]:
    """Remove a leading QUANTIZE (float32 -> int8) and a trailing DEQUANTIZE (int8 -> float32)."""
    sg = model.subgraphs[0]
    ops = list(sg.operators or [])
    removed: list[str] = []
    ins = [int(v) for v in sg.inputs]
    outs = [int(v) for v in sg.outputs]
    if len(ins) == 1 and sg.tensors[ins[0]].type == _FLOAT32:
        users = [o for o in ops if ins[0] in list(o.inputs)]
        if len(users) == 1 and _op_name(model, users[0]) == "QUANTIZE" \
                and sg.tensors[int(users[0].outputs[0])].type == _INT8:
            sg.inputs = [int(users[0].outputs[0])]
            ops.remove(users[0])
            removed.append("QUANTIZE (float32 input)")
    if len(outs) == 1 and sg.tensors[outs[0]].type == _FLOAT32:
        makers = [o for o in ops if outs[0] in list(o.outputs)]
        if len(makers) == 1 and _op_name(model, makers[0]) == "DEQUANTIZE" \
                and sg.tensors[int(makers[0].inputs[0])].type == _INT8:
            sg.outputs = [int(makers[0].inputs[0])]
            ops.remove(makers[0])
            removed.append("DEQUANTIZE (float32 output)")
    sg.operators = ops
    _drop_unused_tensors(sg)
    return removed


def _drop_unused_tensors(sg: Any) -> None:
    """Remove tensors no operator or graph boundary refers to and renumber the rest, so the
    arena planner and TFLite Micro see only the int8 graph (the dropped float tensors had no data)."""
    used = {int(v) for v in sg.inputs} | {int(v) for v in sg.outputs}
    for o in sg.operators:
        used |= {int(v) for v in o.inputs if int(v) >= 0} | {int(v) for v in o.outputs}
    keep = sorted(used)
    new_index = {old: new for new, old in enumerate(keep)}
    sg.tensors = [sg.tensors[i] for i in keep]
    sg.inputs = [new_index[int(v)] for v in sg.inputs]
    sg.outputs = [new_index[int(v)] for v in sg.outputs]
    for o in sg.operators:
        o.inputs = [new_index[int(v)] if int(v) >= 0 else -1 for v in o.inputs]
        o.outputs = [new_index[int(v)] for v in o.outputs]
        if getattr(o, "intermediates", None) is not None and len(o.intermediates):
            raise ModelError("operators with intermediate tensors (LSTM-style) are not supported")


def _buffer_array(model: Any, tensor: Any, dtype: Any) -> np.ndarray:
    b = model.buffers[tensor.buffer]
    if b.data is None or len(b.data) == 0:
        raise ModelError(f"tensor {tensor.name!r} has no inline data (models over 2 GB are not supported)")
    return np.frombuffer(np.asarray(b.data, np.uint8).tobytes(), dtype=dtype).copy()


def _permute_outputs(model: Any, perm: list[int]) -> None:
    """Reorder the classifier's outputs by permuting the last FULLY_CONNECTED layer's rows.

    Only FC -> [SOFTMAX] -> [RESHAPE] tails qualify: every op after the FC acts on each class
    alike (softmax is permutation-equivariant), so the output is the same numbers reordered.
    """
    sg = model.subgraphs[0]
    out_t = int(sg.outputs[0])
    chain = []
    t = out_t
    while True:
        makers = [o for o in sg.operators if t in [int(v) for v in o.outputs]]
        if len(makers) != 1:
            raise ModelError("cannot reorder the outputs: the output tensor has no single producer")
        name = _op_name(model, makers[0])
        chain.append(name)
        if name == "FULLY_CONNECTED":
            fc = makers[0]
            break
        if name not in ("SOFTMAX", "RESHAPE") or len(chain) > 3:
            raise ModelError(f"cannot reorder the outputs: the model ends in {' <- '.join(chain)}, not a fully "
                             "connected layer (use --no-reorder and labels starting with _silence_, _unknown_)")
        t = int(makers[0].inputs[0])
    consts = [int(v) for v in list(fc.inputs)[1:3] if int(v) >= 0]
    uses = sum(1 for o in sg.operators for v in o.inputs if int(v) in consts)
    if uses != len(consts):
        raise ModelError("cannot reorder the outputs: the last layer's weights are shared with another layer")
    w_t = sg.tensors[int(fc.inputs[1])]
    if w_t.type != _INT8:
        raise ModelError("cannot reorder the outputs: the last layer's weights are not int8")
    shape = [int(v) for v in w_t.shape]
    if len(shape) != 2 or shape[0] != len(perm):
        raise ModelError(f"cannot reorder the outputs: last layer weights {shape} do not have {len(perm)} rows")
    idx = np.asarray(perm)
    model.buffers[w_t.buffer].data = _buffer_array(model, w_t, np.int8).reshape(shape)[idx].view(np.uint8).reshape(-1)
    q = w_t.quantization
    if q is not None and q.scale is not None and len(q.scale) == len(perm):
        q.scale = np.asarray(q.scale)[idx]
        if q.zeroPoint is not None and len(q.zeroPoint) == len(perm):
            q.zeroPoint = np.asarray(q.zeroPoint)[idx]
    if len(fc.inputs) > 2 and int(fc.inputs[2]) >= 0:
        b_t = sg.tensors[int(fc.inputs[2])]
        bias = _buffer_array(model, b_t, np.int32 if b_t.type == 2 else np.int64)
        model.buffers[b_t.buffer].data = bias[idx].view(np.uint8).reshape(-1)


def prepare_model(source: bytes, n_labels: int, permutation: list[int] | None) -> tuple[bytes, Surgery]:
    """The int8-in, int8-out model the firmware runs, or one ModelError line saying why not."""
    from edgekws.export.codegen_c import build_layers
    from edgekws.export.tflite_graph import read_graph

    read_graph(source)  # rejects a file that is not a TFLite model with one line before any surgery
    model = _unpack(source)
    removed = _strip_io_quantization(model)
    check_firmware_ops(read_graph(_pack(model)))  # before any reordering: the op is the user's first problem
    if permutation is not None:
        _permute_outputs(model, permutation)
    data = _pack(model)
    graph = read_graph(data)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                         "1 and 1 expected")
    for what, t in (("input", graph.tensors[graph.inputs[0]]), ("output", graph.tensors[graph.outputs[0]])):
        if t.dtype != "int8":
            raise ModelError(f"the model's {what} is {t.dtype}: only int8 models (or float32 ends with "
                             "QUANTIZE/DEQUANTIZE) can be imported")
    n_out = int(np.prod(graph.tensors[graph.outputs[0]].shape))
    if n_out != n_labels:
        raise ConfigError(f"the model has {n_out} outputs but --labels names {n_labels} classes")
    build_layers(graph, ["ref"] * len(graph.operators))  # the exporter's own checks, one line each
    return data, Surgery(tuple(removed), tuple(permutation) if permutation is not None else None)


def check_firmware_ops(graph: Any) -> None:
    """One line naming the first layer whose op the firmware does not run."""
    from edgekws.export.codegen_c import SUPPORTED_OPS
    from edgekws.export.tflite_graph import layer_names

    for op, name in zip(graph.operators, layer_names(graph), strict=True):
        if op.op not in SUPPORTED_OPS:
            raise ModelError(f"layer {op.index} ({name}) uses op {op.op}, which the firmware does not run "
                             f"(it runs {', '.join(SUPPORTED_OPS)})")


def verify_against_source(source: bytes, imported: bytes, x_int8: np.ndarray,
                          permutation: tuple[int, ...] | None) -> int:
    """Run both models in TFLite Micro on every input; raise unless the int8 scores agree.

    The source gets the dequantized input when its input is float32 (its QUANTIZE op maps it
    back to the same int8), and its float output is re-quantized with the stripped tensor's
    parameters. Returns the number of inputs compared.
    """
    from edgekws.export.tflite_graph import read_graph
    from edgekws.tflm import TflmModel

    src_g = read_graph(source)
    imp_g = read_graph(imported)
    in_src = src_g.tensors[src_g.inputs[0]]
    in_imp, out_imp = imp_g.tensors[imp_g.inputs[0]], imp_g.tensors[imp_g.outputs[0]]
    s_in, z_in = float(in_imp.quant.scale[0]), int(in_imp.quant.zero_point[0])
    s_out, z_out = float(out_imp.quant.scale[0]), int(out_imp.quant.zero_point[0])
    src_m, imp_m = TflmModel(source), TflmModel(imported)
    for k, x in enumerate(x_int8):
        xi = np.asarray(x, np.int8)
        xs = ((xi.astype(np.float32) - z_in) * np.float32(s_in)) if in_src.dtype == "float32" else xi
        a = np.asarray(src_m.run(xs)).reshape(-1)
        if a.dtype != np.int8:
            a = np.clip(np.round(a.astype(np.float64) / s_out) + z_out, -128, 127).astype(np.int8)
        if permutation is not None:
            a = a[list(permutation)]
        b = np.asarray(imp_m.run(xi)).reshape(-1)
        if not np.array_equal(a, b):
            i = int(np.flatnonzero(a != b)[0])
            raise ModelError(f"the imported model differs from the source in TFLite Micro on test input {k} "
                             f"(output {i}: {int(b[i])} vs {int(a[i])})")
    return len(x_int8)


# ----------------------------------------------------------------------------- test set

def _clip_samples(fe: Any, frames: int) -> int:
    samples = (frames - 1) * fe.hop_length + fe.win_length
    if fe.num_frames(samples) != frames:
        raise ConfigError(f"frontend {fe.name!r}: no clip length gives the model's {frames} frames")
    return samples


def _testset_audio(cfg: ImportConfig, labels: list[str], sample_rate: int, samples: int,
                   workdir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(float audio [N, samples], y [N], description) of the test set, labels in bundle order."""
    from edgekws.data.augment import fit_length
    from edgekws.data.features import load_audio_split
    from edgekws.data.speech_commands import DatasetConfig

    words = tuple(s for s in labels if s not in (SILENCE_LABEL, UNKNOWN_LABEL))
    if cfg.testset_data is not None:
        root = Path(cfg.testset_data)
        info: dict[str, Any] = {"source": "folder", "root": str(root), "split": "testing"}
    else:
        from edgekws.data.synth import SynthConfig, synthesize_dataset

        root = workdir / "synth"
        scfg = SynthConfig(per_word=cfg.synth_per_word, seed=cfg.seed, words=words,
                           unknown_words=tuple(w for w in _unknown_words() if w not in words)[:12],
                           unknown_per_word=max(1, cfg.synth_per_word // 2),
                           validation_percentage=0.0, testing_percentage=50.0, noise_seconds=5.0)
        synthesize_dataset(root, scfg, jobs=1)
        info = {"source": "espeak-ng synthesis (edgekws data synth)", "per_word": cfg.synth_per_word,
                "seed": cfg.seed, "split": "testing"}
    # the synthesised folder puts half of every word in its test split; a user's folder keeps its own rule
    shares = {"validation_percentage": 0.0, "testing_percentage": 50.0} if cfg.testset_data is None else {}
    dcfg = DatasetConfig(wanted_words=words, sample_rate=sample_rate, **shares)
    audio, y, names = load_audio_split(root, "testing", dataset_cfg=dcfg)
    order = [names.index(s) for s in labels]  # dataset order -> bundle order
    remap = np.empty(len(names), np.int64)
    for new, old in enumerate(order):
        remap[old] = new
    y = remap[y]
    if len(y) > cfg.testset_max:
        rng = np.random.default_rng(cfg.seed)
        per = max(1, cfg.testset_max // len(labels))
        idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per] for c in range(len(labels))]))
        audio, y = audio[idx], y[idx]
    if len(y) == 0:
        raise DatasetError(f"the test split of {root} has no clips")
    audio = np.stack([fit_length(a, samples) for a in audio]).astype(np.float32)
    info["clips"] = int(len(y))
    return audio, y, info


def _unknown_words() -> tuple[str, ...]:
    from edgekws.data.synth import UNKNOWN_WORDS

    return tuple(UNKNOWN_WORDS)


def import_options(cfg: ImportConfig, frontend_name: str, norm: dict[str, list[float]]) -> tuple[tuple[str, str], ...]:
    """The options that shaped the bundle, as (flag, value) pairs of an equivalent ``edgekws import``
    command (labels with renames applied; the frontend by its name, its full config being the bundle's
    ``frontend``; a per-feature --norm is named, its values are in ``input_norm``)."""
    mean, std = norm["mean"], norm["std"]
    if len(set(mean)) == 1 and len(set(std)) == 1:
        norm_txt = "none" if (mean[0], std[0]) == (0.0, 1.0) else f"{mean[0]:g},{std[0]:g}"
    else:
        norm_txt = "per-feature (bundle.json input_norm)"
    opts = [("--frontend", frontend_name), ("--labels", ",".join(cfg.labels)), ("--norm", norm_txt)]
    if cfg.testset_data is not None:
        opts.append(("--testset-data", str(cfg.testset_data)))
    else:
        opts.append(("--per-word", str(cfg.synth_per_word)))
    if cfg.name:
        opts.append(("--name", cfg.name))
    opts += [("--reorder" if cfg.reorder else "--no-reorder", ""), ("--seed", str(cfg.seed))]
    return tuple(opts)


# ----------------------------------------------------------------------------- the import

def import_tflite(cfg: ImportConfig) -> Any:
    """Import ``cfg.model`` into a complete bundle at ``cfg.out``; returns the loaded Bundle.

    Every problem is one EdgeKwsError line: an op the firmware lacks (naming the layer),
    labels that do not match the outputs, a frontend that does not give the model's input shape.
    """
    from rich.console import Console

    from edgekws.audio import float_to_pcm16
    from edgekws.evaluate.runner import host_inputs
    from edgekws.export.bundle import write_bundle
    from edgekws.export.codegen_c import device_frontend_reason
    from edgekws.frontend import load_config
    from edgekws.metrics import format_accuracy

    console = Console(stderr=True, quiet=not cfg.progress)
    src_path = Path(cfg.model)
    if not src_path.is_file():
        raise ModelError(f"model file not found: {src_path}")
    source = src_path.read_bytes()
    labels_model = list(cfg.labels)
    perm = canonical_order(cfg.labels) if cfg.reorder else None
    labels = [labels_model[i] for i in perm] if perm is not None else labels_model
    int8_model, surgery = prepare_model(source, len(labels), perm)

    from edgekws.compress.quantize import io_quant

    inp, _ = io_quant(int8_model)
    shape = [int(v) for v in inp["shape"]]
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] != 1):
        raise ModelError(f"the model input {shape} is not [1, frames, features(, 1)]")
    fe = load_config(cfg.frontend)
    frames, feats = shape[1], shape[2]
    if fe.num_features != feats:
        raise ConfigError(f"frontend {fe.name!r} gives {fe.num_features} features per frame; the model "
                          f"takes {feats}")
    samples = _clip_samples(fe, frames)
    norm = cfg.norm if cfg.norm is not None else parse_norm(None, feats)
    if len(norm["mean"]) != feats:
        raise ConfigError(f"--norm has {len(norm['mean'])} features; the model takes {feats}")

    meta_like = {"input_norm": norm, "input": inp}
    testset: dict[str, np.ndarray] | None = None
    report_acc: dict[str, Any]
    test_info: dict[str, Any]
    has_fillers = SILENCE_LABEL in labels and UNKNOWN_LABEL in labels
    if has_fillers:
        with tempfile.TemporaryDirectory(prefix="edgekws-import-") as tmp, \
                console.status(f"test set ({'folder' if cfg.testset_data else 'espeak-ng'}) through {fe.name}"):
            audio, y, test_info = _testset_audio(cfg, labels, fe.sample_rate, samples, Path(tmp))
        x = host_inputs(meta_like, fe, audio).reshape(len(y), *shape[1:])
        with console.status(f"checking the imported model against {src_path.name} in TFLite Micro"):
            compared = verify_against_source(source, int8_model, x.reshape(len(x), -1), surgery.permutation)
            from edgekws.tflm import TflmModel

            out = TflmModel(int8_model).run_batch(list(x))
        pred = np.argmax(out.reshape(len(x), -1), axis=1)
        acc = float(np.mean(pred == y))
        cm = np.zeros((len(labels), len(labels)), np.int64)
        np.add.at(cm, (y, pred), 1)
        testset = {"x_int8": x.astype(np.int8), "y": y.astype(np.int64), "audio_int16": float_to_pcm16(audio)}
        report_acc = {"float": acc, "int8": acc, "int8_minus_float": 0.0, "n_test": int(len(y)),
                      "int8_runtime": "tflite-micro",
                      "note": "imported int8 model: 'float' is the same model (no float weights were given)"}
        confusion = {"int8": cm.tolist(), "float": cm.tolist()}
    else:
        rng = np.random.default_rng(cfg.seed)
        xr = rng.integers(-128, 128, size=(16, int(np.prod(shape[1:]))), dtype=np.int64).astype(np.int8)
        compared = verify_against_source(source, int8_model, xr, surgery.permutation)
        test_info = {"source": "none: labels without _silence_/_unknown_, no Speech Commands test set"}
        report_acc = {"float": None, "int8": None, "n_test": 0, "int8_runtime": "tflite-micro"}
        confusion = {}
    reason = device_frontend_reason({"frontend": fe.to_dict(), "input_norm": norm}, shape,
                                    (float(inp["scale"]), int(inp["zero_point"])))
    from edgekws.export.tflite_graph import layer_summary

    layers = layer_summary(int8_model)
    for row in layers:
        row.setdefault("backend", "ref")
    source_sha = hashlib.sha256(source).hexdigest()
    credit, credit_from = ((cfg.credit, CREDIT_FROM_FLAG) if cfg.credit is not None
                           else known_credit(source_sha) or (None, None))
    prov = ImportProvenance(source=src_path.name, source_sha256=source_sha, credit=credit, credit_from=credit_from,
                            options=import_options(cfg, fe.name, norm))
    recipe = {"name": IMPORTED, **prov.recipe_fields(), "labels_in_model_order": labels_model,
              "output_permutation": list(surgery.permutation or []),
              "removed_ops": list(surgery.removed), "frontend": fe.name, "testset": test_info,
              "device_frontend": reason or "yes"}
    from edgekws.compress.stats import size_figures

    size = size_figures(layers, len(int8_model), "none")
    report = {"schema_version": 1, "name": cfg.name or src_path.stem, "recipe": "imported", "labels": labels,
              "granularity": "none", "target_sparsity": 0.0, "accuracy": report_acc, "size": size,
              "sparsity": size["sparsity"], "confusion": confusion, "history": {}, "timings": {},
              "onnx_max_abs_diff": None, "ops": sorted({r["op"] for r in layers}), "firmware_unsupported_ops": [],
              "imported": {"checked_against_source_inputs": compared, "source_sha256": source_sha,
                           "testset": test_info}}
    compression = {"quantization": {"scheme": "int8 (imported as given)", "method": "imported",
                                    "runtime": "tflite-micro"}}
    bundle = write_bundle(cfg.out, name=cfg.name or src_path.stem, labels=labels, frontend=fe.to_dict(),
                          frontend_hash=fe.hash(), input_norm=norm, tflite_int8=int8_model, tflite_float=source,
                          report=report, compression=compression, recipe=recipe, testset=testset, layers=layers)
    n = report_acc["n_test"]
    acc_txt = (f"test set int8 {format_accuracy(report_acc['int8'], n)}" if n
               else "no test set (the labels name no _silence_/_unknown_: self-test vectors will be random)")
    console.print(f"[bold]{bundle.name}[/bold]: {len(layers)} layers, removed {', '.join(surgery.removed) or 'nothing'}"
                  f"{', outputs reordered' if surgery.permutation else ''}; identical to the source in TFLite Micro "
                  f"on {compared} inputs; {acc_txt} -> {bundle.path}")
    console.print(f"credit: {prov.credit} ({prov.credit_from})" if prov.credit else
                  "credit: none recorded (--credit TEXT puts the model's licence and data credit in the bundle)",
                  markup=False, soft_wrap=True)
    if reason:
        console.print(f"[yellow]note[/yellow]: no device frontend: {reason}; audio and streaming on the device "
                      "are refused for this bundle")
    return bundle

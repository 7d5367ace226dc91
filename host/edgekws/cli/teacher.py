"""CLI of the 'teacher' area: ``edgekws teacher rounds|train|eval`` and ``edgekws distill``.

A thin layer over :mod:`edgekws.teacher` and :mod:`edgekws.train.distill`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

teacher_app = typer.Typer(help="Real-speech teacher (speech embedding + head) for distillation.",
                          no_args_is_help=True)


@teacher_app.command("rounds")
def teacher_rounds(
    out: Path = typer.Option(..., "--out", help="Folder for one rounds folder per dataset (<i>-<name>)."),
    data: list[Path] = typer.Option(..., "--data", help="Synthetic dataset folder(s); repeat for several engines."),
    rounds: int = typer.Option(14, "--rounds", min=1, help="Fresh perturbations of every training clip."),
    noise: Path | None = typer.Option(None, "--noise", help="Background-noise recordings for augmentation."),
    recipe: str = typer.Option("ds-cnn-s", "--recipe", help="Student recipe whose frontend the rounds store."),
    p_mix: float = typer.Option(0.3, "--mix", min=0.0, max=1.0, help="Share of clips mixed with another voice."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", min=1, max=16),
) -> None:
    """Write fresh rounds (student features + teacher embeddings) that 'teacher train' and 'distill' share."""
    from edgekws.train.distill import generate_dataset_rounds
    from edgekws.train.recipe import load_recipe

    dirs = generate_dataset_rounds(data, out, rounds=rounds, frontend=load_recipe(recipe).frontend, noise_dir=noise,
                                   p_mix=p_mix, seed=seed, threads=threads)
    print("rounds: " + " ".join(str(d) for d in dirs))


@teacher_app.command("label-rounds")
def teacher_label_rounds(
    bundle: Path = typer.Option(..., "--bundle", help="Second teacher: a bundle with the student's 12 labels "
                                                      "(e.g. an imported real-speech model)."),
    rounds_dir: list[Path] = typer.Option(..., "--rounds-dir", help="Rounds folder(s) ('edgekws teacher rounds')."),
    rounds: int = typer.Option(14, "--rounds", min=1, help="Rounds to label."),
) -> None:
    """Label the rounds' exact audio (drawn again from its seed) with a bundle's int8 probabilities."""
    from edgekws.teacher.bundle_teacher import label_rounds

    for d in rounds_dir:
        label_rounds(d, bundle, rounds=rounds)
    print(f"labelled {rounds} round(s) of {len(rounds_dir)} folder(s) with {bundle}")


@teacher_app.command("train")
def teacher_train(
    out: Path = typer.Option(..., "--out", help="Output folder (head.npz, teacher.json)."),
    data: list[Path] = typer.Option([], "--data", help="Synthetic dataset folder(s); repeat for several engines."),
    rounds_dir: list[Path] = typer.Option([], "--rounds-dir",
                                          help="Instead of --data: rounds folders ('edgekws teacher rounds')."),
    rounds: int = typer.Option(4, "--rounds", min=0, help="With --rounds-dir: fresh rounds to use."),
    noise: Path | None = typer.Option(None, "--noise", help="Background-noise recordings for augmentation."),
    copies: int = typer.Option(2, "--copies", min=0, help="Freshly perturbed copies per training clip."),
    epochs: int = typer.Option(40, "--epochs", min=1),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", min=1, max=16),
) -> None:
    """Train the teacher's head on synthetic clips (embedding backbone frozen)."""
    from edgekws.errors import ConfigError
    from edgekws.teacher.head import HeadConfig
    from edgekws.teacher.train import train_teacher, train_teacher_from_rounds

    if bool(data) == bool(rounds_dir):
        raise ConfigError("give either --data or --rounds-dir")
    if rounds_dir:
        train_teacher_from_rounds(rounds_dir, out, rounds=rounds, head_cfg=HeadConfig(epochs=epochs, seed=seed))
        return
    train_teacher(data, out, noise_dir=noise, copies=copies, head_cfg=HeadConfig(epochs=epochs, seed=seed),
                  seed=seed, threads=threads)


@teacher_app.command("eval")
def teacher_eval(
    model: Path = typer.Argument(..., help="Teacher folder written by 'edgekws teacher train'."),
    data: Path = typer.Option(..., "--data", help="Labelled folder (Speech Commands layout); every clip is scored."),
    threads: int = typer.Option(1, "--threads", min=1, max=16),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Score the teacher on every clip of a folder: 12-class and keyword-only accuracy, 95 % intervals."""
    from edgekws.teacher.train import evaluate_teacher

    res = evaluate_teacher(model, data, threads=threads)
    print(json.dumps(res, indent=2) if as_json else f"{data}: teacher {res['text']}")


def distill(
    out: Path = typer.Option(..., "--out", help="Output bundle folder."),
    teacher: Path | None = typer.Option(None, "--teacher", help="Teacher folder ('edgekws teacher train')."),
    data: list[Path] = typer.Option([], "--data", help="Synthetic dataset folder(s)."),
    rounds_dir: list[Path] = typer.Option([], "--rounds-dir",
                                          help="Instead of --data: train on rounds already generated."),
    recipe: str = typer.Option("ds-cnn-s", "--recipe", help="Student recipe (its frontend is kept)."),
    noise: Path | None = typer.Option(None, "--noise", help="Background-noise recordings for augmentation."),
    rounds: int = typer.Option(14, "--rounds", min=1, help="Fresh perturbations of every training clip."),
    epochs: int = typer.Option(2, "--epochs", min=1, help="Passes over each round's fresh clips."),
    alpha: float = typer.Option(0.7, "--alpha", min=0.0, max=1.0, help="Weight of the teacher term (0: labels only)."),
    temperature: float = typer.Option(3.0, "--temperature", min=0.5, max=20.0),
    min_confidence: float = typer.Option(0.05, "--min-confidence", min=0.0, max=1.0,
                                         help="Drop clean-label clips the teacher gives less than this."),
    p_mix: float = typer.Option(0.3, "--mix", min=0.0, max=1.0, help="Share of clips mixed with another voice."),
    embed_weight: float = typer.Option(0.0, "--embed-weight", min=0.0,
                                       help="Weight of regressing the teacher's embedding (training-only map)."),
    bundle_teacher: Path | None = typer.Option(None, "--bundle-teacher",
                                               help="With --rounds-dir: a second teacher bundle whose "
                                                    "probabilities ('teacher label-rounds') join the teacher's."),
    bundle_weight: float = typer.Option(0.5, "--bundle-weight", min=0.0, max=1.0,
                                        help="Share of the bundle teacher in the teacher distribution."),
    init_bundle: Path | None = typer.Option(None, "--init-bundle",
                                            help="With --rounds-dir: start from this bundle's weights and "
                                                 "frontend (its recipe's architecture; 'label-rounds' first)."),
    learning_rate: float = typer.Option(2e-3, "--learning-rate", min=1e-6, max=1.0,
                                        help="Peak learning rate (cosine decay); lower to fine-tune a bundle."),
    time_shift: int = typer.Option(0, "--time-shift", min=0, max=40,
                                   help="Move each training map by up to this many frames (off-centre words)."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", min=1, max=16),
) -> None:
    """Distill the teacher into the on-device student on freshly perturbed synthetic audio; int8 bundle."""
    from edgekws.errors import ConfigError
    from edgekws.train.distill import DistillConfig, distill_to_bundle, train_student

    cfg = DistillConfig(rounds=rounds, epochs_per_round=epochs, alpha=alpha, temperature=temperature,
                        min_confidence=min_confidence, p_mix=p_mix, seed=seed, embed_weight=embed_weight,
                        bundle_weight=bundle_weight, learning_rate=learning_rate, time_shift=time_shift)
    if bool(data) == bool(rounds_dir):
        raise ConfigError("give either --data or --rounds-dir")
    if alpha > 0 and teacher is None:
        raise ConfigError("--alpha > 0 needs --teacher (use --alpha 0 for the no-teacher baseline)")
    if bundle_teacher is not None and not rounds_dir:
        raise ConfigError("--bundle-teacher needs --rounds-dir (label the rounds with 'teacher label-rounds')")
    if init_bundle is not None and not rounds_dir:
        raise ConfigError("--init-bundle needs --rounds-dir (label the rounds with 'teacher label-rounds')")
    if rounds_dir:
        res = train_student(rounds_dir, teacher if alpha > 0 else None, out, recipe=recipe, cfg=cfg,
                            bundle_teacher=bundle_teacher if alpha > 0 else None, init_bundle=init_bundle)
    else:
        res = distill_to_bundle(teacher, data, out, recipe=recipe, noise_dir=noise, cfg=cfg, threads=threads)
    print(f"{out}: int8 (TFLite Micro) synthetic test {100 * res['synthetic_test_int8']:.1f} %")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(teacher_app, name="teacher")
    app.command("distill")(distill)

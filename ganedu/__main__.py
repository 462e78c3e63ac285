"""Command line: train a recipe headless and write figures, metrics and a checkpoint.

    python -m ganedu recipes
    python -m ganedu train wgan-gp-toy --data 8gaussians --steps 2000 --out runs/gp
    python -m ganedu train wgan-gp-toy --resume runs/gp --steps 1000
    python -m ganedu train csn-digits --data digits --steps 1200 --out runs/projection
    python -m ganedu grade student/05_gradient_penalty.ipynb
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

EVAL_SAMPLES = 2500  # samples of the final generator the metrics are computed on
STARTED = time.perf_counter()  # for metrics.json's "timings": what a run spends outside training


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ganedu",
        description="ganedu: train the course's GAN recipes from the command line.",
        epilog="Examples:\n  python -m ganedu recipes\n"
               "  python -m ganedu train wgan-gp-toy --data 8gaussians --steps 2000 --out runs/gp\n"
               "  python -m ganedu train dcgan --data digits --steps 500 --out runs/dcgan\n"
               "  python -m ganedu train csn-digits --data digits --steps 1200 --out runs/projection",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("recipes", help="list the recipes with their settings and sources")
    t = sub.add_parser("train", help="train a recipe; writes samples.png, curves.png, metrics.json, "
                                     "checkpoint.pt into --out",
                       description="Train RECIPE on --data for --steps generator steps. Writes "
                                   "samples.png, curves.png, metrics.json and checkpoint.pt into "
                                   "--out (and nothing anywhere else).")
    t.add_argument("recipe", help="recipe name (see `python -m ganedu recipes`)")
    t.add_argument("--data", default=None, help="8gaussians, 25gaussians, swissroll, ring, digits, "
                                                "mnist, fashion-mnist, cifar10, celeba (default: 8gaussians; "
                                                "digits for the *-digits recipes)")
    t.add_argument("--steps", type=int, default=1000, help="generator steps (default 1000)")
    t.add_argument("--out", default=None, help="output folder (default: runs/RECIPE-DATA)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda")
    t.add_argument("--image-size", type=int, default=16, help="image side for image data (8, 16, 32, 64)")
    t.add_argument("--lr", type=float, default=None, help="learning rate of both networks")
    t.add_argument("--lr-g", type=float, default=None, help="generator learning rate")
    t.add_argument("--lr-d", type=float, default=None, help="critic / discriminator learning rate")
    t.add_argument("--lr-decay-steps", type=int, default=None, metavar="T",
                   help="decay both learning rates linearly over T generator steps (0: constant; new runs only)")
    t.add_argument("--gp-lambda", type=float, default=None, help="gradient-penalty weight λ (0: off)")
    t.add_argument("--clip", type=float, default=None, help="weight-clipping value c")
    t.add_argument("--n-critic", type=int, default=None, help="critic steps per generator step")
    t.add_argument("--batch-size", type=int, default=None, help="batch size")
    t.add_argument("--critic", default=None, choices=("concat", "projection", "auxiliary"),
                   help="conditional recipes only: how the critic sees the label (default: the recipe's; "
                        "concat, projection, or auxiliary = AC-GAN's classifier head)")
    t.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the run saved in DIR/checkpoint.pt (its recipe and data are reused)")
    s = t.add_argument_group("scaling up (see README, 'Scaling up'); several GPUs: "
                             "torchrun --nproc-per-node N -m ganedu train ...")
    s.add_argument("--data-root", default=None, metavar="DIR",
                   help="folder of the image datasets (default $GANEDU_DATA or ~/.cache/ganedu/data)")
    s.add_argument("--download", action="store_true",
                   help="download MNIST / Fashion-MNIST / CIFAR-10 into --data-root if absent")
    s.add_argument("--amp", action="store_true",
                   help="bf16 mixed precision (CUDA; the gradient penalty stays float32); with "
                        "--channels-last it was 1.1-1.7x faster from batch 128 up on an H200, no faster at 64")
    s.add_argument("--channels-last", action="store_true",
                   help="channels-last conv kernels (GPU tensor cores); use with --amp, from batch 128 up")
    s.add_argument("--sync-bn", action="store_true",
                   help="with several GPUs: BatchNorm statistics over all processes (default: per process)")
    s.add_argument("--workers", type=int, default=0, help="DataLoader worker processes for image datasets")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .classroom.grade import build_parser as grade_parser
    grade_parser(sub.add_parser("grade", help="run a notebook (quick mode) and print a score per exercise"))
    return parser


def describe_constraint(r) -> str:
    parts = []
    if r.clip is not None:
        parts.append(f"clip c={r.clip:g}")
    if r.gp_lambda > 0:
        parts.append(f"GP λ={r.gp_lambda:g}" + (" one-sided" if r.one_sided else ""))
    if r.spectral_norm:
        parts.append("spectral norm")
    if r.r1_gamma > 0:
        parts.append(f"R1 γ={r.r1_gamma:g}")
    return ", ".join(parts) or "no constraint"


def cmd_recipes() -> int:
    from .conditional_train import CONDITIONAL_RECIPES, RECIPE_CRITIC
    from .recipes import RECIPES

    for r in [*RECIPES.values(), *CONDITIONAL_RECIPES.values()]:
        constraint = describe_constraint(r)
        opt = f"{r.optimizer} lr_g={r.lr_g:g} lr_d={r.lr_d:g}"
        if r.optimizer == "adam":
            opt += f" betas={r.betas}"
        if r.lr_decay_steps:
            opt += f" lr decay over {r.lr_decay_steps} steps to x{r.lr_floor:g}"
        if r.name in RECIPE_CRITIC:
            opt += f" | conditional, critic={RECIPE_CRITIC[r.name]}"
        print(f"{r.name:12s} loss={r.loss:13s} {constraint:14s} n_critic={r.n_critic} "
              f"batch={r.batch_size} {opt}")
        if r.source:
            print(f"{'':12s} source: {r.source}")
        if r.note:
            print(f"{'':12s} note:   {r.note}")
    return 0


def cmd_train(args) -> int:
    """Train; under torchrun each process joins the group first and leaves it at the end."""
    from .scale import distributed

    if args.data_root:
        os.environ["GANEDU_DATA"] = os.path.abspath(args.data_root)  # read by ganedu.data
    info = distributed.init_distributed(args.device)  # rank 0 of 1 outside torchrun
    try:
        code = _train(args, info)
    except BaseException:
        distributed.cleanup(barrier=False)  # no barrier: the other ranks may be mid-step
        raise
    distributed.cleanup(barrier=code == 0)  # after a divergence a rank may still wait in a step: no barrier
    return code


def _train(args, info) -> int:
    from .scale import distributed
    from .train import Trainer, TrainingDiverged

    overrides = dict(lr_g=args.lr_g or args.lr, lr_d=args.lr_d or args.lr, gp_lambda=args.gp_lambda,
                     clip=args.clip, n_critic=args.n_critic, batch_size=args.batch_size,
                     lr_decay_steps=args.lr_decay_steps)
    if args.recipe in conditional_recipes():
        trainer, data = _conditional_trainer(args, info, overrides)
        out = args.out or os.path.join("runs", f"{args.recipe}-{data}")
    elif args.critic:
        raise ValueError(f"--critic is for the conditional recipes ({', '.join(conditional_recipes())}), "
                         f"got recipe {args.recipe!r}")
    elif args.resume:
        trainer = Trainer.load(os.path.join(args.resume, "checkpoint.pt"), device=info.device)
        changes = {k: v for k, v in overrides.items() if v is not None}
        if changes:
            trainer.set(**changes)
        out = args.out or args.resume
        data = trainer.data_name[0] if trainer.data_name else None
    else:
        data = args.data or "8gaussians"
        if args.download:
            distributed.download(data, args.image_size)
        trainer = Trainer.from_recipe(args.recipe, data, device=info.device, seed=args.seed,
                                      image_size=args.image_size, **overrides)
        out = args.out or os.path.join("runs", f"{args.recipe}-{data}")
    images = distributed.prepare(trainer, info, amp=args.amp, channels_last=args.channels_last,
                                 sync_batchnorm=args.sync_bn, num_workers=args.workers)
    if info.is_main:  # rank 0 alone logs and writes
        os.makedirs(out, exist_ok=True)
        where = f"{info.world_size} processes on {trainer.device.type}" if info.distributed else trainer.device
        print(f"ganedu: training {trainer.recipe.name} on {data or 'data'} "
              f"for {args.steps} steps on {where}; writing to {out}")
    start = time.perf_counter()
    try:
        trainer.train(args.steps, progress=not args.no_progress and info.is_main)
    except TrainingDiverged as exc:
        if args.recipe in conditional_recipes():
            print(f"ganedu: {exc}", file=sys.stderr)
            return 3
        trainer.save(os.path.join(out, "checkpoint.pt"))  # rank 0 writes
        if info.is_main:
            print(f"ganedu: {exc}\nThe last good state was saved to {out}/checkpoint.pt", file=sys.stderr)
        return 3
    seconds = time.perf_counter() - start
    distributed.average_buffers(trainer)  # BatchNorm running statistics over the ranks (all ranks)
    if not info.is_main:
        return 0
    evaluated = time.perf_counter()  # rank 0 alone, on the plain networks (trainer.generator, .critic)
    labels = None
    if args.recipe in conditional_recipes():  # every class asked for in turn
        import torch
        labels = torch.arange(EVAL_SAMPLES) % trainer.n_classes  # 0, 1, ..., K-1, 0, 1, ...
        fake = trainer.sample(EVAL_SAMPLES, y=labels)
    else:
        fake = trainer.sample(EVAL_SAMPLES)  # once, for the metrics and the figure
    metrics = evaluate(trainer, fake, data, labels)
    timings = dict(before_training_s=start - STARTED, training_s=seconds,
                   evaluation_s=time.perf_counter() - evaluated)
    metrics.update(recipe=trainer.recipe.name, steps=trainer.steps, seconds=round(seconds, 3),
                   seed=trainer.seed, device=str(trainer.device), world_size=info.world_size,
                   precision="bf16-autocast" if args.amp else "float32",
                   real_images_per_s=round(images() * info.world_size / seconds, 1))
    written = time.perf_counter()
    write_outputs(trainer, out, metrics, fake)
    timings["writing_s"] = time.perf_counter() - written
    metrics["timings"] = {k: round(v, 3) for k, v in timings.items()}
    with open(os.path.join(out, "metrics.json"), "w") as fh:  # again, with the writing time
        json.dump(metrics, fh, indent=2)
    print(json.dumps(metrics, indent=2))
    return 0


def evaluate(trainer, fake, name, labels=None) -> dict:
    """Metrics of the final generator on its samples ``fake`` (EVAL_SAMPLES of them) of data ``name``: those of
    ``metrics.score_samples`` against real samples of the trainer's evaluation stream, and for a conditional
    run (``labels``: the classes ``fake`` was asked for) the per-class accuracy."""
    from . import metrics

    n_w1 = 1000  # exact assignment is O(n^3): 1000 samples keep it to about a second
    real = trainer.real_batch(n_w1) if fake.ndim == 2 or name in metrics.DIGITS_DATA else None
    critic = trainer.critic if labels is None else None  # a conditional critic scores (x, y): no W estimate
    out = {"eval_samples": EVAL_SAMPLES}
    out.update(metrics.score_samples(fake, name, real=real, n_w1=n_w1, critic=critic))
    if "w1" in out:
        out["w1_samples"] = n_w1
    if labels is not None:
        out.update(per_class_accuracy(fake, labels, name))
    return out


def per_class_accuracy(fake, labels, name) -> dict:
    """``per_class_accuracy`` (one fraction per class) and ``worst_class_accuracy``: for a toy mixture the
    fraction of class-k samples within 3σ of mode k, for the digits the classifier's reading of class k."""
    from .conditional_train import digits_class_accuracy, toy_class_accuracy

    accuracy = toy_class_accuracy(fake, labels, name) if fake.ndim == 2 else digits_class_accuracy(fake, labels)
    return dict(per_class_accuracy=[round(a, 4) for a in accuracy], worst_class_accuracy=round(min(accuracy), 4))


def conditional_recipes() -> tuple:
    from .conditional_train import CONDITIONAL_RECIPES

    return tuple(CONDITIONAL_RECIPES)


def _conditional_trainer(args, info, overrides):
    """A conditional recipe's trainer (``ganedu.acgan.conditional_trainer``) and its data name."""
    from .acgan import conditional_trainer
    from .conditional_train import RECIPE_CRITIC

    if args.resume:
        raise ValueError(f"--resume: conditional runs ({args.recipe}) are not saved to checkpoints; "
                         f"train again with more --steps")
    if info.distributed:
        raise ValueError(f"conditional recipes ({args.recipe}) train on one process; run without torchrun")
    data = args.data or ("digits" if args.recipe.endswith("-digits") else "8gaussians")
    trainer = conditional_trainer(args.recipe, data, critic=args.critic or RECIPE_CRITIC[args.recipe],
                                  device=info.device, seed=args.seed, image_size=args.image_size, **overrides)
    return trainer, data


def write_outputs(trainer, out, metrics_dict, fake):
    """samples.png (of ``fake``), curves.png, metrics.json and checkpoint.pt in ``out``."""
    from . import plot

    title = f"{trainer.recipe.name} after {trainer.steps} steps"
    if fake.ndim == 2:
        fig = plot.plot_samples(trainer.real_batch(EVAL_SAMPLES), fake, title=title)
    else:
        fig = plot.plot_image_grid(fake[:64], nrow=8, title=title)
    fig.savefig(os.path.join(out, "samples.png"), dpi=100)
    plot.plot_curves(trainer.history, exact_w1=metrics_dict.get("w1")).savefig(
        os.path.join(out, "curves.png"), dpi=100)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics_dict, fh, indent=2)
    if "per_class_accuracy" not in metrics_dict:  # conditional runs have no checkpoint format
        trainer.save(os.path.join(out, "checkpoint.pt"))


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "recipes":
            return cmd_recipes()
        if args.command == "grade":
            from .classroom.grade import run_cli
            return run_cli(args)
        return cmd_train(args)
    except (ValueError, TypeError) as exc:
        print(f"ganedu: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

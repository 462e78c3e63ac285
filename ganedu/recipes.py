"""Recipes: the papers' training settings as frozen dataclasses.

A :class:`Recipe` says *what* to train (loss, Lipschitz constraint, optimiser, schedule, network
size); the :class:`ganedu.train.Trainer` says *how*. Change a field with
``recipe.replace(gp_lambda=1.0)`` (``dataclasses.replace``): recipes never mutate.

The paper recipes keep the published defaults; the ``*-toy`` recipes are tuned for live demos on
2D toy data on a laptop CPU (found by the sweep in ``benchmarks/``) and say so in their ``note``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .checks import check_choice, check_fields, check_int, check_number, check_type
from .losses import LOSSES

__all__ = ["Recipe", "RECIPES", "get_recipe", "TUNABLE"]

OPTIMIZERS = ("adam", "rmsprop")
MODELS = ("auto", "mlp", "dcgan")
CRITIC_NORMS = ("auto", "none", "layer", "batch", "spectral")
#: fields a running Trainer may change mid-run (``Trainer.set``); the dashboard's sliders
TUNABLE = ("gp_lambda", "clip", "n_critic", "lr_g", "lr_d", "one_sided", "batch_size")


@dataclass(frozen=True)
class Recipe:
    """One paper's training settings.

    Attributes:
        name: the key in ``RECIPES``.
        loss: a key of ``ganedu.losses.LOSSES`` (``minimax``, ``nonsaturating``,
            ``wasserstein``, ``hinge``, ``least_squares``).
        optimizer, lr_g, lr_d, betas: the optimiser of both networks (``betas`` for Adam only).
        lr_decay_steps: 0 keeps the learning rates constant (the papers' algorithms);
            ``T`` > 0 scales both linearly down over ``T`` generator steps, as the WGAN-GP code's
            ``lr * (1 - step / ITERS)``, then holds them at ``lr_floor`` times their value.
        lr_floor: the fraction of each learning rate kept after ``lr_decay_steps`` (0 stops
            learning there, as in the WGAN-GP code).
        n_critic: critic updates per generator update.
        clip: weight-clipping value c (``None``: no clipping).
        gp_lambda: gradient-penalty weight λ (0: no penalty); ``one_sided``: penalise only norms > 1.
        r1_gamma: R1 weight γ (0: off): the critic's loss gains γ/2 E ||∇D(x)||² on real data.
        spectral_norm: wrap every critic layer in spectral normalisation.
        batch_size: samples per batch (real and fake alike).
        z_dim: latent size (``None``: 2 for toy data, 100 for images).
        model: ``mlp`` (toy data), ``dcgan`` (images) or ``auto`` (chosen from the data).
        width, depth: MLP hidden width and number of hidden layers.
        critic_norm: normalisation inside the critic (``auto``: batch for DCGAN, layer for DCGAN
            under a gradient penalty, spectral when ``spectral_norm``, none for MLPs).
        wgan_schedule: the WGAN code's schedule (100 critic steps for the first 25 generator
            steps and every 500th).
        source: where the numbers come from; note: what was changed and why.
    """

    name: str
    loss: str = "wasserstein"
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple = (0.5, 0.999)
    lr_decay_steps: int = 0
    lr_floor: float = 0.0
    n_critic: int = 1
    clip: float | None = None
    gp_lambda: float = 0.0
    one_sided: bool = False
    r1_gamma: float = 0.0
    spectral_norm: bool = False
    batch_size: int = 64
    z_dim: int | None = None
    model: str = "auto"
    width: int = 512
    depth: int = 3
    critic_norm: str = "auto"
    wgan_schedule: bool = False
    source: str = ""
    note: str = field(default="", compare=False)

    def __post_init__(self):
        # each check returns the value it accepted (as a plain int / float): store that (frozen: setattr)
        checked = dict(
            loss=check_choice("loss", self.loss, tuple(LOSSES)),
            optimizer=check_choice("optimizer", self.optimizer, OPTIMIZERS),
            model=check_choice("model", self.model, MODELS),
            critic_norm=check_choice("critic_norm", self.critic_norm, CRITIC_NORMS),
            lr_g=check_number("lr_g", self.lr_g, gt=0),
            lr_d=check_number("lr_d", self.lr_d, gt=0),
            n_critic=check_int("n_critic", self.n_critic, min=1),
            batch_size=check_int("batch_size", self.batch_size, min=1),
            width=check_int("width", self.width, min=1),
            depth=check_int("depth", self.depth, min=1),
            lr_decay_steps=check_int("lr_decay_steps", self.lr_decay_steps, min=0,
                                     expected="an integer >= 0 (0: no decay)"),
            lr_floor=check_number("lr_floor", self.lr_floor, ge=0, le=1),
            gp_lambda=check_number("gp_lambda", self.gp_lambda, ge=0),
            r1_gamma=check_number("r1_gamma", self.r1_gamma, ge=0, expected="a finite number >= 0 (0: no R1 penalty)"),
        )
        if self.z_dim is not None:
            checked["z_dim"] = check_int("z_dim", self.z_dim, min=1, expected="None or an integer >= 1")
        if self.clip is not None:
            checked["clip"] = check_number("clip", self.clip, gt=0, expected="None (off) or a finite number > 0")
        check_type("betas", self.betas, (tuple, list), "two numbers in [0, 1)")
        if len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        checked["betas"] = tuple(float(check_number(f"betas[{i}]", b, ge=0, lt=1)) for i, b in enumerate(self.betas))
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def lr_factor(self, step: int) -> float:
        r"""The learning-rate multiplier before generator step ``step`` (counted from 0).

        :math:`\max(1 - t / T,\ \text{lr\_floor})` with :math:`T` = ``lr_decay_steps``; 1 without decay (T = 0).
        """
        if not self.lr_decay_steps:
            return 1.0
        return max(1.0 - step / self.lr_decay_steps, self.lr_floor)

    def n_critic_at(self, step: int) -> int:
        """Critic updates before generator step ``step`` (counted from 0): ``n_critic``, or 100 with
        ``wgan_schedule`` in the WGAN code's warm-up (the first 25 steps) and at every 500th step."""
        if self.wgan_schedule and (step < 25 or step % 500 == 0):
            return 100
        return self.n_critic

    def replace(self, **changes) -> "Recipe":
        """A copy with ``changes`` applied (``dataclasses.replace``), validated again."""
        check_fields("Recipe", sorted(changes), [f.name for f in dataclasses.fields(self)])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        return cls(**d)

    @property
    def constraint(self) -> str:
        """The constraint on the critic in words: clip, gp, sn, r1 (joined by +), or none."""
        parts = [n for n, on in (("clip", self.clip is not None), ("gp", self.gp_lambda > 0),
                                 ("sn", self.spectral_norm), ("r1", self.r1_gamma > 0)) if on]
        return "+".join(parts) or "none"


_GOODFELLOW = "Goodfellow et al. 2014, Eq. 1; optimiser as in DCGAN (Radford et al. 2016, §4)"
_DCGAN = "Radford et al. 2016, §4: Adam lr 2e-4, beta1 0.5, batch 128, N(0, 0.02) init"
_WGAN = "Arjovsky et al. 2017, Algorithm 1: RMSprop lr 5e-5, c = 0.01, m = 64, n_critic = 5"
_WGAN_GP = ("Gulrajani et al. 2017, Algorithm 1: Adam lr 1e-4, betas (0, 0.9), lambda = 10, "
            "n_critic = 5, m = 64 (the released gan_toy.py uses betas (0.5, 0.9), lambda 0.1 for toys)")
_SNGAN = ("Miyato et al. 2018: hinge loss, spectral norm on every critic layer, Adam lr 2e-4, "
          "betas (0, 0.9), n_dis = 5 (the authors' released CIFAR-10 setting)")
_R1 = ("Mescheder et al. 2018 (Which Training Methods for GANs do actually Converge?), §4.1, Eq. 9: the "
       "non-saturating loss plus R1 = gamma/2 E_x ||grad D(x)||^2 on real data only; gamma = 10 in their image experiments")
_LSGAN = ("Mao et al. 2017 (LSGAN), Eq. 2 with the 0-1 coding a = 0, b = c = 1: D and G minimise squared errors "
          "of raw scores; Adam with beta1 0.5 as in DCGAN")

RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("gan", loss="minimax", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), source=_GOODFELLOW,
           note="the saturating generator loss log(1 - D(G(z))): stalls when D wins early"),
    Recipe("nsgan", loss="nonsaturating", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
           source=_GOODFELLOW, note="generator maximises log D(G(z)) (Goodfellow et al. 2014, §3)"),
    Recipe("dcgan", loss="nonsaturating", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
           batch_size=128, model="dcgan", source=_DCGAN),
    Recipe("wgan", loss="wasserstein", optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, n_critic=5,
           clip=0.01, batch_size=64, source=_WGAN),
    Recipe("wgan-gp", loss="wasserstein", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), n_critic=5,
           gp_lambda=10.0, batch_size=64, source=_WGAN_GP,
           note="we use the paper's betas (0, 0.9); the paper's code uses (0.5, 0.9)"),
    Recipe("sngan", loss="hinge", lr_g=2e-4, lr_d=2e-4, betas=(0.0, 0.9), n_critic=5,
           spectral_norm=True, batch_size=64, source=_SNGAN),
    # Fast toy variants for live demos on a laptop CPU (see benchmarks/RESULTS.md).
    Recipe("gan-toy", loss="minimax", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), batch_size=256,
           width=128, source=_GOODFELLOW, note="toy demo: smaller MLP (128), larger lr and batch"),
    Recipe("nsgan-toy", loss="nonsaturating", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999),
           batch_size=256, width=128, source=_GOODFELLOW,
           note="toy demo: smaller MLP (128), larger lr and batch"),
    Recipe("wgan-toy", loss="wasserstein", optimizer="rmsprop", lr_g=1e-3, lr_d=1e-3, n_critic=5,
           clip=0.01, batch_size=256, width=128, source=_WGAN,
           note="toy demo: lr 1e-3 instead of 5e-5, smaller MLP, batch 256"),
    Recipe("wgan-gp-toy", loss="wasserstein", lr_g=3e-3, lr_d=3e-3, betas=(0.0, 0.9), n_critic=1,
           gp_lambda=0.1, batch_size=256, width=128, lr_decay_steps=2000, lr_floor=0.1, source=_WGAN_GP,
           note="toy demo (sweep in benchmarks/RESULTS.md): the paper's betas (0, 0.9), gan_toy.py's "
                "lambda 0.1, n_critic 1 with a 30x larger lr (3e-3) decayed linearly to a tenth over "
                "2,000 steps (the WGAN-GP code decays to 0), MLP width 128, batch 256: 8/8 modes with "
                ">= 90% high-quality samples by ~1,800 steps on 8gaussians; on 25gaussians let the "
                "decay span a longer run: lr_decay_steps=10000, lr_floor=0.01 gives 25/25 modes and >= 90% "
                "high-quality samples at 10,000 steps on every CPU kernel set (5 seeds: 0.92-0.97); "
                "lr_decay_steps=6000 gives 25/25 and >= 85% by 6,000 steps (0.87-0.91 on the portable "
                "kernels, >= 90% by ~5,200 on AVX2)"),
    Recipe("sngan-toy", loss="hinge", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), n_critic=5,
           spectral_norm=True, batch_size=256, width=128, source=_SNGAN,
           note="toy demo: lr 1e-3, betas (0.5, 0.9), MLP width 128, batch 256"),
    Recipe("r1-toy", loss="nonsaturating", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), r1_gamma=1.0,
           batch_size=256, width=128, source=_R1,
           note="toy demo: nsgan-toy's settings plus R1 with gamma 1 (for 2D points, not the papers' 10)"),
    Recipe("lsgan-toy", loss="least_squares", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), batch_size=256,
           width=128, source=_LSGAN, note="toy demo: nsgan-toy's settings with the least-squares loss"),
]}


def get_recipe(name: str | Recipe, **overrides) -> Recipe:
    """The recipe called ``name`` (or ``name`` itself if it is a Recipe), with ``overrides``."""
    if isinstance(name, Recipe):
        recipe = name
    elif isinstance(name, str):
        if name not in RECIPES:
            raise ValueError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}")
        recipe = RECIPES[name]
    else:
        raise TypeError(f"recipe must be a name (str) or a Recipe, got {type(name).__name__}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return recipe.replace(**overrides) if overrides else recipe

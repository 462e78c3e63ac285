r"""Training and measuring a conditional GAN: the course's Trainer, with a label in every batch.

:class:`ConditionalTrainer` is :class:`ganedu.train.Trainer` (schedule, history, roll-back, threads)
with two steps changed: real batches come with their labels, fakes are generated for those labels,
and both networks are called through :class:`ganedu.conditional.Conditioned`, so the updates are
``ganedu.updates``'s own::

    for t in range(n_critic):
        (x, y) ~ data, z ~ N(0, I)
        critic_update(D(., y), x, G(z, y))          # the recipe's loss [+ λ GP on x̂ only, y kept]
    y ~ U{0..K-1}, z ~ N(0, I)
    generator_update(G(., y), D(., y), z)

Measuring it: :func:`toy_class_accuracy` (the fraction of class-k samples within 3σ of mode k) and
:func:`digits_class_accuracy` (the fraction the course's digits classifier reads as the class asked for).
"""
from __future__ import annotations

import torch

from . import seed_everything
from .checks import check_choice, check_int, check_tensor, check_type
from .conditional import CRITICS, Conditioned, ConditionalGenerator, OneClass, check_labels
from .data import TOY_MIXTURES, load_digits, sample_toy, toy_modes, toy_std
from .metrics import digits_classifier, mode_coverage
from .recipes import RECIPES, Recipe, get_recipe
from .train import Trainer
from .updates import critic_update, generator_update

__all__ = ["CONDITIONAL_RECIPES", "RECIPE_CRITIC", "get_conditional_recipe", "toy_labels", "labelled_batch_fn", "ConditionalTrainer", "class_labels", "toy_class_accuracy",
           "digits_class_accuracy", "evaluate_toy", "real_of_classes", "class_picture"]


_CWGAN_GP = ("Mirza & Osindero 2014 (labels at the input) with the WGAN-GP loss and penalty of "
             "Gulrajani et al. 2017, Algorithm 1; the penalty interpolates x only, y kept")

_CSN = ("Miyato & Koyama 2018 (projection discriminator) with spectral normalisation and the hinge loss "
        "(Miyato et al. 2018); the critic is chosen apart: ConditionalTrainer.from_recipe(..., critic=...)")

_ACGAN_GP = ("Odena et al. 2017 (AC-GAN: the critic's auxiliary classifier, §3) with the WGAN-GP loss and penalty "
             "(Gulrajani et al. 2017), as their supervised CIFAR-10 model; the classifier learns on real samples only, "
             "as in the released gan_cifar_resnet.py, and the generator's cross-entropy has Odena et al.'s weight 1 "
             "(the released code's 0.1 is too slow for this budget: ganedu.acgan)")

#: conditional recipes: the unconditional recipes' fields, read by :class:`ConditionalTrainer`
CONDITIONAL_RECIPES: dict[str, Recipe] = {r.name: r for r in [
    RECIPES["wgan-gp-toy"].replace(
        name="cwgan-gp-toy", lr_decay_steps=400, lr_floor=0.03, source=_CWGAN_GP,
        note="wgan-gp-toy (lr 3e-3, betas (0, 0.9), lambda 0.1, n_critic 1, MLP 128, batch 256) with the "
             "decay over 400 steps to 3% of the lr: each class is one tight mode, placed precisely once "
             "the lr is low; every class >= 95% within 3 sigma by 600 steps on 8gaussians "
             "(tests/test_conditional_train.py)"),
    RECIPES["sngan"].replace(
        name="csn-digits", n_critic=2, lr_g=3e-4, lr_d=3e-4, width=256, depth=2, z_dim=32, source=_CSN,
        note="SNGAN's hinge loss and betas (0, 0.9) with n_critic 2 and lr 3e-4 (a 1,200-step CPU budget), "
             "MLP networks of 2 x 256 on the 16x16 digits, z of 32"),
    RECIPES["wgan-gp"].replace(
        name="cgp-digits", n_critic=2, lr_g=3e-4, lr_d=3e-4, betas=(0.5, 0.9), width=256, depth=2, z_dim=32,
        source=_CWGAN_GP, note="WGAN-GP (lambda 10) with the released code's betas (0.5, 0.9), n_critic 2 and "
                                "lr 3e-4 (a 1,200-step CPU budget), MLP networks of 2 x 256, z of 32"),
    RECIPES["wgan-gp"].replace(
        name="acgan-gp-digits", n_critic=2, lr_g=3e-4, lr_d=3e-4, betas=(0.5, 0.9), width=256, depth=2, z_dim=32,
        source=_ACGAN_GP, note="cgp-digits' settings (the same budget) with an ACCritic: "
                               "ganedu.acgan.ACGANTrainer.from_recipe"),
]}


#: the critic each conditional recipe was tuned with (``ganedu.acgan.conditional_trainer``'s ``critic``)
RECIPE_CRITIC = {"cwgan-gp-toy": "concat", "cgp-digits": "concat", "csn-digits": "projection",
                 "acgan-gp-digits": "auxiliary"}


def get_conditional_recipe(name, **overrides) -> Recipe:
    """A recipe of ``CONDITIONAL_RECIPES`` (or of ``ganedu.recipes.RECIPES``), with ``overrides``."""
    if isinstance(name, str) and name in CONDITIONAL_RECIPES:
        name = CONDITIONAL_RECIPES[name]
    return get_recipe(name, **overrides)


def toy_labels(name: str, x: torch.Tensor) -> torch.Tensor:
    """The mode each point of a toy mixture belongs to: the index of its nearest mode, ``(n,)`` long.

    The modes of ``8gaussians`` and ``25gaussians`` are more than 20 standard deviations apart, so the
    nearest mode is the one the point was drawn from (``ganedu.data.sample_toy``).
    """
    check_choice("name", name, TOY_MIXTURES)
    check_tensor("x", x, ndim=2, floating=True)
    return torch.cdist(x.double().cpu(), toy_modes(name).double()).argmin(dim=1)


def labelled_batch_fn(data, device, rng: torch.Generator):
    """A function ``n -> (x (n, ...), y (n,))`` of real samples and their classes on ``device``.

    Args:
        data: a toy mixture name (``8gaussians``, ``25gaussians``; the class is the mode) or
            ``(images (N, ...), labels (N,))``.
        device: where the batches go; rng: a CPU ``torch.Generator`` all draws come from.
    """
    check_type("rng", rng, torch.Generator, "a torch.Generator")
    if isinstance(data, str):
        check_choice("data", data, TOY_MIXTURES)
        def toy(n):
            x = sample_toy(data, n, generator=rng)                        # (n, 2)
            return x.to(device), toy_labels(data, x).to(device)            # (n, 2), (n,)
        return toy
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"data must be a toy mixture name or (images, labels), got {type(data).__name__}")
    images, labels = data
    check_tensor("images", images, floating=True)
    check_labels("labels", labels, None, batch=images.shape[0])
    images, labels = images.to(device), labels.long().to(device)
    def from_tensor(n):
        index = torch.randint(len(images), (n,), generator=rng).to(device)   # (n,)
        return images[index], labels[index]
    return from_tensor


def class_labels(n_classes: int, per_class: int, device="cpu") -> torch.Tensor:
    """``[0]*per_class + [1]*per_class + ...``: ``(n_classes * per_class,)`` labels, every class asked for."""
    check_int("n_classes", n_classes, min=2)
    check_int("per_class", per_class, min=1)
    return torch.arange(n_classes, device=device).repeat_interleave(per_class)


class ConditionalTrainer(Trainer):
    """The course's :class:`~ganedu.train.Trainer` for a generator ``G(z, y)`` and a critic ``D(x, y)``.

    Args:
        recipe: a recipe or its name (``ganedu.recipes.RECIPES``): loss, optimiser, n_critic, λ...
        generator: ``(z, y) -> samples``, with ``z_dim`` and ``n_classes``.
        critic: ``(x, y) -> (B,)``, with ``n_classes``.
        data: a toy mixture name or ``(images, labels)``.
        device, seed, flush_every: as the Trainer's (a CPU random stream: ``device="cpu"`` by default).
    """

    critics = CRITICS                                  # the critics from_recipe can build, by name

    def __init__(self, recipe, generator, critic, data, *, device="cpu", seed=0, flush_every=50):
        for role, net in (("generator", generator), ("critic", critic)):
            if not isinstance(getattr(net, "n_classes", None), int):
                raise TypeError(f"{role} must be a conditional network with an attribute n_classes, "
                                f"got {type(net).__name__}")
        if generator.n_classes != critic.n_classes:
            raise ValueError(f"generator and critic must have the same n_classes, got "
                             f"{generator.n_classes} and {critic.n_classes}")
        self.n_classes = generator.n_classes
        super().__init__(get_conditional_recipe(recipe), generator, critic, data, device=device, seed=seed, flush_every=flush_every,
                         next_batch=lambda n: self.next_labelled(n)[0])
        self.use_cuda_graphs = False                          # labelled batches are drawn on the host
        if self.rng.device.type != "cpu":                     # ... with a CPU random stream
            self.rng = torch.Generator().manual_seed(seed)
        self.next_labelled = labelled_batch_fn(data, self.device, self.rng)

    @classmethod
    def from_recipe(cls, recipe="cwgan-gp-toy", data="8gaussians", *, critic="concat", device="cpu", seed=0,
                    image_size=16, **overrides):
        """Networks sized by the recipe (width, depth, z_dim, spectral_norm) for ``data``, seeded by ``seed``.

        ``critic``: a key of the class's ``critics``: ``"concat"`` or ``"projection"``
        (``ganedu.conditional.CRITICS``); ``"auxiliary"`` for ``ganedu.acgan.ACGANTrainer``.
        """
        recipe = get_conditional_recipe(recipe, **overrides)
        check_choice("critic", critic, tuple(cls.critics))
        seed_everything(seed)
        if isinstance(data, str) and data == "digits":
            data = load_digits(size=image_size)                            # (images, labels)
        if isinstance(data, str):
            n_classes, shape, z_dim, tanh = len(toy_modes(data)), (2,), recipe.z_dim or 2, False
        else:
            n_classes, shape, z_dim, tanh = 10, tuple(data[0].shape[1:]), recipe.z_dim or 100, True
        norm = "spectral" if recipe.spectral_norm else "none"
        in_dim = int(torch.Size(shape).numel())
        generator = ConditionalGenerator(n_classes, z_dim, shape, recipe.width, recipe.depth, tanh=tanh)
        critic_net = cls.critics[critic](n_classes, in_dim, recipe.width, recipe.depth, norm=norm)
        trainer = cls(recipe, generator, critic_net, data, device=device, seed=seed)
        trainer.critic_kind = critic
        return trainer

    def random_labels(self, n: int) -> torch.Tensor:
        """y ~ U{0, ..., K-1}, shape (n,): the classes the generator is asked for in its update."""
        return torch.randint(self.n_classes, (n,), generator=self.rng).to(self.device)

    def critic_step(self, recipe, diagnose: bool = True):
        """One ``critic_update`` of ``D(., y)`` on a labelled real batch and ``G(z, y)`` for the same y."""
        real, y = self.next_labelled(recipe.batch_size)                    # (x, y) ~ P_r
        with torch.no_grad():
            fake = self.generator(self.noise(recipe.batch_size), y)        # G(z, y)
        return critic_update(Conditioned(self.critic, y), self.opt_critic, real, fake, loss=recipe.loss,
                             gp_lambda=recipe.gp_lambda, one_sided=recipe.one_sided, clip=recipe.clip,
                             rng=self.rng, diagnose=diagnose, r1_gamma=recipe.r1_gamma)

    def generator_step(self, recipe) -> torch.Tensor:
        """One ``generator_update`` of ``G(., y)`` through ``D(., y)``, y drawn uniformly."""
        y = self.random_labels(recipe.batch_size)
        return generator_update(Conditioned(self.generator, y), Conditioned(self.critic, y), self.opt_generator,
                                self.noise(recipe.batch_size), loss=recipe.loss)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """``G(z, y)`` on the CPU for ``n`` codes (``y``: labels ``(n,)``; default every class in turn)."""
        y = torch.arange(n) % self.n_classes if y is None else check_labels("y", y, self.n_classes, batch=n)
        rng = torch.Generator().manual_seed(self.seed + 1 if seed is None else seed)
        z = torch.randn(n, self.generator.z_dim, generator=rng)
        return self.generator(z.to(self.device), y.to(self.device)).cpu()

    def real_batch(self, n: int) -> torch.Tensor:
        """``n`` real samples on the CPU, from a stream separate from training's."""
        return labelled_batch_fn(self.data, torch.device("cpu"), torch.Generator().manual_seed(self.seed + 2))(n)[0]

    def save(self, path):
        raise NotImplementedError("ConditionalTrainer runs are not saved to checkpoints (the checkpoint "
                                  "format rebuilds unconditional networks); keep state_dict() instead")


def toy_class_accuracy(samples: torch.Tensor, y: torch.Tensor, name: str) -> list:
    r"""Per class k: the fraction of samples asked for as class k that lie within 3σ of mode k.

    :math:`\mathrm{acc}_k = \frac{1}{n_k} \sum_{i: y_i = k} \mathbb{1}\bigl[\|x_i - c_k\|_2 \le 3\sigma\bigr]`, the
    high-quality test of ``ganedu.metrics.mode_coverage`` applied to the mode that was *asked for*.

    Args:
        samples: ``(n, 2)`` generated points; y: ``(n,)`` the classes requested; name: a toy mixture.
    Returns:
        a list of K fractions (NaN for a class never requested).
    """
    check_choice("name", name, TOY_MIXTURES)
    check_tensor("samples", samples, ndim=2, floating=True)
    modes = toy_modes(name).double()
    y = check_labels("y", y.cpu(), len(modes), batch=samples.shape[0])
    hit = (samples.detach().cpu().double() - modes[y]).norm(dim=1) <= 3.0 * toy_std(name)   # (n,)
    return [float(hit[y == k].double().mean()) if (y == k).any() else float("nan") for k in range(len(modes))]


def digits_class_accuracy(images: torch.Tensor, y: torch.Tensor, classifier=None) -> list:
    r"""Per class k: the fraction of images asked for as class k that the digits classifier reads as k.

    :math:`\mathrm{acc}_k = \frac{1}{n_k} \sum_{i: y_i = k} \mathbb{1}[\arg\max_c f_c(x_i) = k]`, with
    ``ganedu.metrics.digits_classifier`` as :math:`f` (the same classifier as class coverage and the
    Fréchet distance).

    Args:
        images: ``(n, 1, s, s)`` in [-1, 1]; y: ``(n,)`` the classes requested; classifier: default
            ``digits_classifier(s)``.
    Returns:
        a list of 10 fractions (NaN for a class never requested).
    """
    check_tensor("images", images, ndim=4, floating=True)
    y = check_labels("y", y.cpu(), 10, batch=images.shape[0])
    classifier = digits_classifier(images.shape[-1]) if classifier is None else classifier
    with torch.no_grad():
        predicted = classifier(images.detach().cpu().float()).argmax(dim=1)   # (n,)
    hit = predicted == y
    return [float(hit[y == k].double().mean()) if (y == k).any() else float("nan") for k in range(10)]


def evaluate_toy(trainer: ConditionalTrainer, name: str, per_class: int = 250, seed: int = 1) -> dict:
    """Per-class accuracy, and the unconditional modes / HQ of the same samples pooled over classes."""
    y = class_labels(trainer.n_classes, per_class)
    samples = trainer.sample(len(y), seed=seed, y=y)
    coverage = mode_coverage(samples, toy_modes(name), toy_std(name))
    accuracy = toy_class_accuracy(samples, y, name)
    return dict(per_class=accuracy, min_class=min(accuracy), modes=coverage["modes"], hq=coverage["hq"])


def real_of_classes(data, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Real samples of the classes ``y`` ``(n,)``, on the CPU: for a toy mixture, mode :math:`c_{y_i}` plus
    its Gaussian noise (``ganedu.data.sample_toy``'s definition, the mode chosen); for ``(images, labels)``,
    a random image labelled :math:`y_i`."""
    check_type("generator", generator, torch.Generator, "a torch.Generator")
    if isinstance(data, str):
        check_choice("data", data, TOY_MIXTURES)
        modes = toy_modes(data)
        y = check_labels("y", y.cpu(), len(modes))
        return modes[y] + toy_std(data) * torch.randn(len(y), 2, generator=generator)     # (n, 2)
    images, labels = data
    y = check_labels("y", y.cpu(), int(labels.max()) + 1)
    index = torch.empty(len(y), dtype=torch.long)
    for k in y.unique():
        pool = (labels.cpu() == k).nonzero().squeeze(1)                          # the images of class k
        chosen = y == k
        index[chosen] = pool[torch.randint(len(pool), (int(chosen.sum()),), generator=generator)]
    return images.cpu()[index]


@torch.no_grad()
def class_picture(trainer: ConditionalTrainer, n: int, label: int | None = None) -> dict:
    r"""What a picture of a conditional run shows (the dashboard's class picker), on the CPU.

    ``y`` ``(n,)``: the classes asked for, every class in turn (``label=None``) or all ``label``;
    ``fake`` :math:`= G(z, y)` (``trainer.sample``'s fixed codes); ``real``: real samples of the same
    classes, a stream apart from training's; ``critic`` :math:`= D(\cdot, y)` for these pairs (the
    gradient-norm diagnostic) and ``surface``: :math:`D(\cdot, k)` on any batch (None for every class).
    """
    check_int("n", n, min=1)
    if label is None:
        y = torch.arange(n) % trainer.n_classes
    else:
        y = torch.full((n,), check_int("label", label, min=0, max=trainer.n_classes - 1), dtype=torch.long)
    real = real_of_classes(trainer.data, y, torch.Generator().manual_seed(trainer.seed + 2))
    return dict(y=y, fake=trainer.sample(n, y=y), real=real,
                critic=Conditioned(trainer.critic, y.to(trainer.device)),
                surface=None if label is None else OneClass(trainer.critic, label))

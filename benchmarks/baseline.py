"""The baseline: a widely copied WGAN-GP pseudocode, typed in literally, with gan_toy.py's toy settings.

This is what a student writes from a widely copied "Pseudocode for WGAN-GP training" on the
2D toy data, with the WGAN-GP paper's released toy settings (Gulrajani et al. 2017,
``gan_toy.py``: 3 hidden ReLU layers of 512 units, batch 256, 5 critic iterations, λ = 0.1,
Adam lr 1e-4, betas (0.5, 0.9), z of size 2). It is deliberately **not optimised** and imports
nothing from ganedu except the data sampler (so both sides train on the same distribution):
ganedu's Trainer is measured against it and must never be slower at the same configuration.

Literal means:

- ``fake_images = G(z)`` inside the critic loop is *not* detached (the pseudocode does not detach it),
  so ``loss_C_total.backward()`` also runs back through G; ``detach_fake=True`` gives the variant
  of ``gan_toy.py`` (``netG(noise).data``), reported alongside.
- A fresh real batch for every critic iteration, as in both papers' Algorithm 1 and gan_toy.py
  (that pseudocode's loop body reuses one ``real_images`` for all five; on an endless toy stream there
  is no epoch to iterate over).
- The gradient penalty is the pseudocode's ``gradient_penalty`` function, with ε of shape
  ``(batch, 1)`` for 2D points (its ``(batch, 1, 1, 1)`` is for images).
"""
from __future__ import annotations

import torch
from torch import nn

from ganedu.data import sample_toy

# gan_toy.py's settings (the WGAN-GP paper's released toy code)
REFERENCE = dict(width=512, batch_size=256, critic_iterations=5, lambda_gp=0.1, lr=1e-4,
                 betas=(0.5, 0.9), latent_dim=2)


def mlp(in_dim, out_dim, width):
    """gan_toy.py's nets: Linear-ReLU x 3 (width units), then a linear output."""
    return nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, width), nn.ReLU(), nn.Linear(width, out_dim))


def gradient_penalty(C, real_data, fake_data, batch_size, lambda_gp):
    # Sample epsilon uniformly from [0, 1]
    epsilon = torch.rand(batch_size, 1, device=real_data.device)
    # Interpolate between real and fake data
    interpolates = epsilon * real_data + (1 - epsilon) * fake_data
    interpolates.requires_grad_(True)
    # Compute critic output on interpolates
    critic_interpolates = C(interpolates)
    # Compute gradients of critic output with respect to interpolates
    gradients = torch.autograd.grad(outputs=critic_interpolates, inputs=interpolates,
                                    grad_outputs=torch.ones_like(critic_interpolates),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradients = gradients.view(batch_size, -1)
    gradient_norm = gradients.norm(2, dim=1)
    # Compute penalty
    penalty = lambda_gp * ((gradient_norm - 1) ** 2).mean()
    return penalty


class Baseline:
    """The pseudocode's WGAN-GP loop, one generator iteration per ``step()``.

    Args:
        data: a toy dataset name (``ganedu.data.TOY_DATASETS``).
        seed: seeds the weights (global RNG, like the pseudocode) and the data stream.
        detach_fake: detach G(z) in the critic loop (gan_toy.py) instead of the pseudocode's literal code.
        other keywords: override ``REFERENCE``.
    """

    def __init__(self, data="8gaussians", seed=0, detach_fake=False, **settings):
        s = {**REFERENCE, **settings}
        torch.manual_seed(seed)
        self.data, self.s, self.detach_fake = data, s, detach_fake
        self.rng = torch.Generator().manual_seed(seed)
        self.G = mlp(s["latent_dim"], 2, s["width"])
        self.C = mlp(2, 1, s["width"])
        self.optimizer_G = torch.optim.Adam(self.G.parameters(), lr=s["lr"], betas=s["betas"])
        self.optimizer_C = torch.optim.Adam(self.C.parameters(), lr=s["lr"], betas=s["betas"])
        self.steps = 0

    def sample_noise(self, batch_size, latent_dim):
        return torch.randn(batch_size, latent_dim)

    def step(self):
        s, G, C = self.s, self.G, self.C
        batch_size, latent_dim, lambda_gp = s["batch_size"], s["latent_dim"], s["lambda_gp"]
        for _ in range(s["critic_iterations"]):
            real_images = sample_toy(self.data, batch_size, generator=self.rng)
            z = self.sample_noise(batch_size, latent_dim)
            fake_images = G(z)
            if self.detach_fake:
                fake_images = fake_images.detach()

            loss_C = - (C(real_images).mean() - C(fake_images).mean())
            gp = gradient_penalty(C, real_images, fake_images, batch_size, lambda_gp)
            loss_C_total = loss_C + gp

            self.optimizer_C.zero_grad()
            loss_C_total.backward()
            self.optimizer_C.step()

        # Train generator
        z = self.sample_noise(batch_size, latent_dim)
        fake_images = G(z)
        loss_G = - C(fake_images).mean()

        self.optimizer_G.zero_grad()
        loss_G.backward()
        self.optimizer_G.step()
        self.steps += 1

    @torch.no_grad()
    def sample(self, n, seed=1):
        """``n`` generated points from a fixed noise stream (does not touch the training RNG)."""
        z = torch.randn(n, self.s["latent_dim"], generator=torch.Generator().manual_seed(seed))
        return self.G(z)

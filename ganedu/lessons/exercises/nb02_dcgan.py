r"""Checks for notebook 02 (DCGAN): build the discriminator from the paper's rules.

``check_discriminator(build_discriminator)``: ``build_discriminator(image_size, channels, base)``
returns an ``nn.Module`` mapping images ``(B, channels, S, S)`` to one logit per image ``(B,)``,
following Radford et al. 2016, §3 ("Architecture guidelines for stable Deep Convolutional GANs"):

- strided convolutions instead of pooling, no fully connected hidden layers;
- batch normalisation in the discriminator, **except on its input layer**;
- LeakyReLU activations with slope 0.2 (§4) in every layer;
- no sigmoid at the end: ``ganedu.losses`` takes logits.

The check runs the student's network on random images of two sizes, records which layers run
and in what order (forward hooks), and explains the first rule that is broken, without printing
a solution.
"""
from __future__ import annotations

import torch
from torch import nn

from .core import report, run_student

__all__ = ["check_discriminator"]

_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.Tanh, nn.SiLU, nn.PReLU, nn.ReLU6)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)
_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
          nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)


def _leaves_in_call_order(module: nn.Module, x: torch.Tensor):
    """Run ``module(x)``; return (output, leaf modules in the order they ran)."""
    order, hooks = [], []
    for m in module.modules():
        if not list(m.children()):
            hooks.append(m.register_forward_hook(lambda mod, _i, _o: order.append(mod)))
    try:
        out = module(x)
    finally:
        for h in hooks:
            h.remove()
    return out, order


def _build(name, fn, image_size, channels, base):
    try:
        net = run_student(name, fn, image_size=image_size, channels=channels, base=base)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's error, not a traceback
        return None, (f"build_discriminator(image_size={image_size}, channels={channels}, base={base}) "
                      f"raised {type(exc).__name__}: {exc}")
    if not isinstance(net, nn.Module):
        return None, f"build_discriminator must return an nn.Module, got {type(net).__name__}."
    return net, None


def _structure_problem(order: list) -> str | None:
    """The first DCGAN rule the executed layers break, or None."""
    convs = [i for i, m in enumerate(order) if isinstance(m, nn.Conv2d)]
    if not convs:
        return "no nn.Conv2d ran: the discriminator is a stack of (strided) convolutions."
    if any(isinstance(m, nn.Sigmoid) for m in order):
        return ("remove the sigmoid at the end: the network returns a logit, and the losses "
                "(ganedu.losses) apply the sigmoid inside, stably.")
    if any(isinstance(m, _POOLS) for m in order):
        return "a pooling layer runs: the rules replace pooling by strided convolutions (stride 2)."
    if not any(order[i].stride == (2, 2) for i in convs):
        return "no convolution has stride 2: the rules downsample with strided convolutions."
    linears = [i for i, m in enumerate(order) if isinstance(m, nn.Linear)]
    if linears and linears[0] != len(order) - 1:
        return ("a fully connected (Linear) layer runs before the end: the rules remove fully "
                "connected hidden layers.")
    first = convs[0]
    upto = convs[1] if len(convs) > 1 else len(order)
    if any(isinstance(m, _NORMS) for m in order[first + 1:upto]):
        return ("the first layer is normalised: the rules put batch normalisation on every "
                "discriminator layer except the input layer (it would erase the images' own statistics).")
    acts = [m for m in order if isinstance(m, _ACTIVATIONS)]
    if not acts:
        return ("no activation module ran. Use activation modules (nn.<Something>(...)) between the "
                "convolutions, so that the check can see them.")
    for m in acts:
        if not isinstance(m, nn.LeakyReLU):
            return f"an activation is {type(m).__name__}: the discriminator's activations are LeakyReLU."
        if abs(m.negative_slope - 0.2) > 1e-9:
            return (f"a LeakyReLU has negative_slope={m.negative_slope:g}: DCGAN uses slope 0.2 "
                    "(the PyTorch default is different).")
    n_acts_expected = len(convs) - 1
    if len(acts) < n_acts_expected:
        return ("some convolutions are not followed by an activation: every layer but the last is "
                "convolution -> (norm) -> LeakyReLU.")
    if not any(isinstance(m, nn.BatchNorm2d) for m in order[upto:]):
        return ("no BatchNorm2d after the later convolutions: the rules use batch normalisation in "
                "the discriminator (on every layer but the input one).")
    return None


def check_discriminator(build_discriminator) -> bool:
    """Check ``build_discriminator(image_size, channels, base)`` against DCGAN's rules."""
    name = "discriminator"
    for image_size, channels, base in ((16, 1, 32), (32, 3, 16)):
        net, err = _build(name, build_discriminator, image_size, channels, base)
        if err:
            return report(name, False, err)
        x = torch.randn(4, channels, image_size, image_size, generator=torch.Generator().manual_seed(0))
        net.train()
        try:
            out, order = _leaves_in_call_order(net, x)
        except Exception as exc:  # noqa: BLE001
            return report(name, False, f"calling your network on images of shape {tuple(x.shape)} raised "
                                       f"{type(exc).__name__}: {exc}")
        if not isinstance(out, torch.Tensor):
            return report(name, False, f"the network must return a tensor, got {type(out).__name__}.")
        if tuple(out.shape) not in ((4,), (4, 1)):
            hint = (" Flatten it to one logit per image, e.g. with .view(-1) or .flatten()."
                    if out.numel() == 4 else
                    " The last convolution must reduce each image to a single 1x1 value.")
            return report(name, False, f"for images of shape {tuple(x.shape)} the output should be one logit "
                                       f"per image, shape (4,), got {tuple(out.shape)}.{hint}")
        problem = _structure_problem(order)
        if problem:
            return report(name, False, problem + f" (image_size={image_size}, channels={channels}, base={base})")
        first_conv = next(m for m in order if isinstance(m, nn.Conv2d))
        if first_conv.in_channels != channels or first_conv.out_channels != base:
            return report(name, False, f"the first convolution should map {channels} image channel(s) to "
                                       f"base={base} feature maps, got {first_conv.in_channels} -> "
                                       f"{first_conv.out_channels}.")
        out.sum().backward()
        if x.grad is None and not any(p.grad is not None for p in net.parameters()):
            return report(name, False, "no gradient reaches the network's weights.")
    return report(name, True, "the discriminator follows the DCGAN rules: strided convolutions, "
                  "no normalisation on the input layer, LeakyReLU(0.2), one logit per image.")

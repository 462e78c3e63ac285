"""The notebook 04 check: the reference passes, every pitfall fails with a hint, a stub raises."""
import copy

import pytest
import torch
from torch import nn

from ganedu.lessons.exercises import check_clip_weights
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lipschitz import clip_weights_


def reference(module, c):
    # written out independently of ganedu.lipschitz (as the WGAN code does)
    for p in module.parameters():
        p.data.clamp_(-c, c)


def test_reference_solution_passes(capsys):
    assert check_clip_weights(reference) is True
    assert RESULTS["clip_weights"] is True
    assert "Correct" in capsys.readouterr().out


def test_calling_ganedu_clip_weights_is_not_the_exercise(capsys):
    # the exercise is the step written by hand: a call into ganedu's own clip_weights_ fails, named
    def wrapper(module, c):
        clip_weights_(module, c)

    for fn in (clip_weights_, wrapper):
        assert check_clip_weights(fn) is False
        out = capsys.readouterr().out
        assert "Not yet" in out and "ganedu.lipschitz.clip_weights_" in out and "clamp" not in out


def test_watching_for_the_call_leaves_a_profiler_in_place():
    import sys
    seen = []
    sys.setprofile(lambda frame, event, arg: seen.append(event))
    try:
        assert check_clip_weights(reference) is True
        assert sys.getprofile() is not None and seen          # the outer profiler kept receiving events
    finally:
        sys.setprofile(None)


def test_no_grad_version_passes():
    def no_grad_version(module, c):
        with torch.no_grad():
            for p in module.parameters():
                p.clamp_(min=-c, max=c)
    assert check_clip_weights(no_grad_version) is True


def test_check_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_clip_weights(reference)
    assert torch.equal(torch.rand(3), expected)


def _weights_only(module, c):
    for name, p in module.named_parameters():
        if name.endswith("weight"):
            p.data.clamp_(-c, c)


def _linear_only(module, c):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.clamp_(-c, c)
            m.bias.data.clamp_(-c, c)


def _copy(module, c):
    module = copy.deepcopy(module)
    reference(module, c)
    return module


def _rebind(module, c):
    for p in module.parameters():
        p = p.clamp(-c, c)  # noqa: F841  (a new tensor bound to a local name)


def _upper_only(module, c):
    for p in module.parameters():
        p.data.clamp_(max=c)


def _hard_coded(module, c):
    reference(module, 0.01)


def _rescale(module, c):
    for p in module.parameters():
        p.data.mul_(c / p.data.abs().max())


def _no_no_grad(module, c):
    for p in module.parameters():
        p.clamp_(-c, c)


def _new_parameters(module, c):
    for m in module.modules():
        for name, p in list(m.named_parameters(recurse=False)):
            setattr(m, name, nn.Parameter(p.detach().clamp(-c, c)))


def _grad_clip(module, c):
    nn.utils.clip_grad_value_(module.parameters(), c)


def _off_by_rounding(module, c):
    for p in module.parameters():
        p.data.clamp_(-c, c)
        p.data[p.data.abs() >= c] *= 0.999


PITFALLS = {
    "weights only": (_weights_only, "bias"),
    "linear layers only": (_linear_only, "normalisation"),
    "copy": (_copy, "unchanged"),
    "rebind": (_rebind, "unchanged"),
    "upper only": (_upper_only, "below -c"),
    "hard-coded c": (_hard_coded, "use the c you were given"),
    "rescale": (_rescale, "rescale"),
    "in-place without no_grad": (_no_no_grad, "autograd"),
    "new parameters": (_new_parameters, "new Parameter"),
    "gradient clipping": (_grad_clip, "gradients"),
    "not on the bound": (_off_by_rounding, "nearest bound"),
}


@pytest.mark.parametrize("name", sorted(PITFALLS))
def test_pitfall_is_caught_with_a_hint(name, capsys):
    fn, hint = PITFALLS[name]
    assert check_clip_weights(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out
    assert RESULTS["clip_weights"] is False
    assert "clamp" not in out  # never reveals the solution


def test_stub_raises_exercise_not_done():
    def stub(module, c):
        raise NotImplementedError("Exercise: clip every parameter to [-c, c] in place")

    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check_clip_weights(stub)

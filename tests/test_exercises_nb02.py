"""Tests for the notebook-02 exercise check: a discriminator built from the DCGAN rules passes
(ours and ganedu's own), every broken rule is caught with an explanation, the stub raises."""
import pytest
import torch
from torch import nn

from ganedu.lessons import exercises
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb02_dcgan import check_discriminator
from ganedu.models import DCGANDiscriminator


def make(first_norm=False, act=lambda: nn.LeakyReLU(0.2), sigmoid=False, flatten=True, pool=False,
         later_norm=True, stride=2, linear_hidden=False):
    def build_discriminator(image_size=16, channels=1, base=32):
        s = 1 if pool else stride
        layers = [nn.Conv2d(channels, base, 4 if s == 2 else 3, s, 1)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        if first_norm:
            layers.append(nn.BatchNorm2d(base))
        layers.append(act())
        c, size = base, image_size // 2
        while size > 4:
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False)]
            if later_norm:
                layers.append(nn.BatchNorm2d(2 * c))
            layers.append(act())
            c, size = 2 * c, size // 2
        if linear_hidden:
            layers += [nn.Flatten(), nn.Linear(c * 16, 64), act(), nn.Linear(64, 1), nn.Flatten(0)]
        else:
            layers.append(nn.Conv2d(c, 1, 4, 1, 0))
            if sigmoid:
                layers.append(nn.Sigmoid())
            if flatten:
                layers.append(nn.Flatten(0))
        return nn.Sequential(*layers)
    return build_discriminator


def ganedu_discriminator(image_size=16, channels=1, base=32):
    return DCGANDiscriminator(image_size=image_size, channels=channels, base=base)


def stub(image_size=16, channels=1, base=32):
    raise NotImplementedError("Exercise: build the discriminator")


@pytest.mark.parametrize("fn", [make(), ganedu_discriminator])
def test_rule_following_discriminators_pass(fn, capsys):
    assert check_discriminator(fn) is True
    out = capsys.readouterr().out
    assert "Correct" in out and RESULTS["discriminator"] is True


def test_check_is_reachable_from_the_package():
    assert exercises.check_discriminator is check_discriminator


@pytest.mark.parametrize("fn, words", [
    (make(first_norm=True), "except the input layer"),
    (make(act=nn.ReLU), "LeakyReLU"),
    (make(act=nn.LeakyReLU), "slope 0.2"),
    (make(sigmoid=True), "sigmoid"),
    (make(flatten=False), "shape (4,), got (4, 1, 1, 1)"),
    (make(pool=True), "pooling"),
    (make(later_norm=False), "BatchNorm2d"),
    (make(linear_hidden=True), "fully connected"),
    (lambda image_size=16, channels=1, base=32: "not a module", "nn.Module"),
    (lambda image_size=16, channels=1, base=32: nn.Sequential(
        nn.Conv2d(channels, base, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(base, 1, 4, 2, 1), nn.Flatten(0)),
     "shape (4,)"),
])
def test_broken_rules_are_caught(fn, words, capsys):
    assert check_discriminator(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and words in out, out
    assert RESULTS["discriminator"] is False
    assert "nn.Conv2d(c, 2 * c" not in out  # never prints a solution


def test_wrong_first_layer_width_is_caught(capsys):
    def fn(image_size=16, channels=1, base=32):
        return ganedu_discriminator(image_size, channels, base * 2)
    assert check_discriminator(fn) is False
    assert "base=" in capsys.readouterr().out


def test_stub_raises_exercise_not_done():
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check_discriminator(stub)

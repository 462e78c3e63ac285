"""Recipes: the papers' numbers, validation, immutability."""
import dataclasses

import pytest
import torch

from ganedu.recipes import RECIPES, Recipe, get_recipe


def test_paper_defaults():
    wgan, gp, dc, sn = RECIPES["wgan"], RECIPES["wgan-gp"], RECIPES["dcgan"], RECIPES["sngan"]
    assert (wgan.optimizer, wgan.lr_d, wgan.lr_g, wgan.clip, wgan.n_critic) == ("rmsprop", 5e-5, 5e-5, 0.01, 5)
    assert wgan.loss == "wasserstein" and wgan.gp_lambda == 0
    assert (gp.optimizer, gp.lr_d, gp.betas, gp.gp_lambda, gp.n_critic) == ("adam", 1e-4, (0.0, 0.9), 10.0, 5)
    assert gp.clip is None and "0.5, 0.9" in gp.source  # says which betas the code used
    assert (dc.optimizer, dc.lr_d, dc.betas, dc.model) == ("adam", 2e-4, (0.5, 0.999), "dcgan")
    assert sn.spectral_norm and sn.loss == "hinge"
    assert RECIPES["gan"].loss == "minimax" and RECIPES["nsgan"].loss == "nonsaturating"
    for name in ("gan", "nsgan", "dcgan", "wgan", "wgan-gp", "sngan"):
        assert RECIPES[name].source


def test_toy_variants_are_clearly_named_and_noted():
    toys = [n for n in RECIPES if n.endswith("-toy")]
    assert "wgan-gp-toy" in toys
    for n in toys:
        assert RECIPES[n].note and RECIPES[n].name == n


@pytest.mark.parametrize("field, value", [("gp_lambda", -1.0), ("clip", 0.0), ("clip", -0.01),
                                          ("n_critic", 0), ("lr_g", 0.0), ("batch_size", 0),
                                          ("betas", (0.5, 1.5)), ("loss", "wasserstien"),
                                          ("optimizer", "sgd"), ("gp_lambda", float("nan")),
                                          ("lr_decay_steps", -1), ("lr_floor", -0.1),
                                          ("lr_floor", 1.5), ("r1_gamma", -1.0), ("r1_gamma", float("inf"))])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        RECIPES["wgan-gp"].replace(**{field: value})


@pytest.mark.parametrize("field, value", [("lr_decay_steps", 2.5), ("lr_decay_steps", None),
                                          ("lr_decay_steps", True), ("n_critic", 2.5), ("width", "128"),
                                          ("gp_lambda", "10"), ("betas", 0.9), ("loss", None),
                                          ("r1_gamma", "1")])
def test_values_of_the_wrong_type_name_the_field(field, value):
    # the rule (ganedu.checks): a wrong type is a TypeError, a wrong value of the right type a ValueError
    with pytest.raises(TypeError, match=field):
        RECIPES["wgan-gp"].replace(**{field: value})


def test_recipes_are_frozen_and_replace_copies():
    r = RECIPES["wgan-gp"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.gp_lambda = 1.0
    s = r.replace(gp_lambda=1.0)
    assert s.gp_lambda == 1.0 and r.gp_lambda == 10.0
    with pytest.raises(TypeError, match="no field 'lambda_gp'"):
        r.replace(lambda_gp=1.0)


def test_get_recipe():
    assert get_recipe("wgan") is RECIPES["wgan"]
    assert get_recipe("wgan", n_critic=3).n_critic == 3
    with pytest.raises(ValueError, match="unknown recipe 'wgan2'.*wgan-gp"):
        get_recipe("wgan2")
    with pytest.raises(TypeError):
        get_recipe(3)
    assert isinstance(get_recipe(Recipe("mine")), Recipe)


def test_paper_recipes_keep_a_constant_learning_rate():
    for name in ("gan", "nsgan", "dcgan", "wgan", "wgan-gp", "sngan"):
        assert RECIPES[name].lr_decay_steps == 0
        assert [RECIPES[name].lr_factor(t) for t in (0, 10, 10**6)] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("floor", [0.0, 0.25])
def test_lr_factor_is_a_linear_decay_to_the_floor(floor):
    """Against torch's own LinearLR (start 1, end 0 over T steps), floored."""
    T, lr = 8, 0.5
    r = Recipe("decay", lr_decay_steps=T, lr_floor=floor)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=T)
    for t in range(T + 5):
        expected = max(opt.param_groups[0]["lr"] / lr, floor)
        assert r.lr_factor(t) == pytest.approx(expected, abs=1e-12), t
        opt.step()
        sched.step()


def test_numpy_numbers_are_stored_as_plain_python_numbers():
    import numpy as np
    r = Recipe("mine", n_critic=np.int64(3), lr_g=np.float32(0.5), betas=[np.float64(0.5), 0])
    assert type(r.n_critic) is int and r.n_critic == 3
    assert type(r.lr_g) is float and r.lr_g == 0.5
    assert r.betas == (0.5, 0.0) and all(type(b) is float for b in r.betas)
    assert type(Recipe("mine", gp_lambda=1).gp_lambda) is int  # an int stays an int (labels print it as 1)


def test_the_wgan_schedule_is_100_critic_updates_in_the_warm_up_and_every_500th_step():
    """WGAN's released code: Diters = 100 while gen_iterations < 25 or gen_iterations % 500 == 0."""
    wgan, off = get_recipe("wgan", wgan_schedule=True), get_recipe("wgan")
    expected = [100 if (t < 25 or t % 500 == 0) else wgan.n_critic for t in range(1200)]
    assert [wgan.n_critic_at(t) for t in range(1200)] == expected
    assert {off.n_critic_at(t) for t in range(1200)} == {off.n_critic}  # the schedule off: n_critic always


def test_r1_and_lsgan_toy_recipes_cite_their_papers():
    r1, ls = RECIPES["r1-toy"], RECIPES["lsgan-toy"]
    assert (r1.loss, r1.gp_lambda, r1.spectral_norm, r1.clip) == ("nonsaturating", 0.0, False, None)
    assert r1.r1_gamma > 0 and r1.constraint == "r1" and "Mescheder et al. 2018" in r1.source and "Eq. 9" in r1.source
    assert ls.loss == "least_squares" and ls.constraint == "none" and "Mao et al. 2017" in ls.source
    assert all(RECIPES[n].r1_gamma == 0 for n in RECIPES if n != "r1-toy")  # R1 is off unless asked for
    assert RECIPES["wgan-gp"].replace(r1_gamma=2).constraint == "gp+r1"

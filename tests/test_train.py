"""Trainer: the pseudocode's semantics, reproducibility, resume, divergence, hyperparameter changes."""
import copy
import sys

import pytest
import torch

from ganedu import seed_everything
from ganedu.data import sample_toy, toy_modes, toy_std
from ganedu.metrics import mode_coverage, w1_to_data
from ganedu.models import MLPCritic, MLPGenerator
from ganedu.scale.population import Population
from ganedu.train import RECIPES, Trainer, TrainingDiverged, get_recipe

SMALL = dict(width=32, batch_size=64)


def small_trainer(recipe="wgan-gp-toy", data="8gaussians", seed=0, **overrides):
    return Trainer.from_recipe(recipe, data, device="cpu", seed=seed, **{**SMALL, **overrides})


def params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_same_seed_same_numbers():
    a, b = small_trainer(seed=3), small_trainer(seed=3)
    a.train(15, progress=False)
    b.train(15, progress=False)
    assert a.history["d_loss"] == b.history["d_loss"]
    assert torch.equal(params(a.generator), params(b.generator))
    c = small_trainer(seed=4)
    c.train(15, progress=False)
    assert c.history["d_loss"] != a.history["d_loss"]


@pytest.mark.parametrize("recipe", ["wgan-gp-toy", "wgan-toy", "sngan-toy", "dcgan"])
def test_resumed_run_equals_uninterrupted(tmp_path, recipe):
    data = "digits" if recipe == "dcgan" else "8gaussians"
    kw = dict(batch_size=16) if recipe == "dcgan" else {}
    full = small_trainer(recipe, data, seed=1, **kw)
    full.train(10, progress=False)
    half = small_trainer(recipe, data, seed=1, **kw)
    half.train(5, progress=False)
    half.save(tmp_path / "ck.pt")
    resumed = Trainer.load(tmp_path / "ck.pt", device="cpu")
    resumed.train(5, progress=False)
    assert resumed.steps == full.steps == 10
    assert torch.equal(params(resumed.generator), params(full.generator))
    assert torch.equal(params(resumed.critic), params(full.critic))
    assert resumed.history["d_loss"] == full.history["d_loss"]


def test_n_critic_counts_critic_updates():
    t = small_trainer("wgan-gp-toy", n_critic=3)
    calls = []
    original = t.critic_step
    t.critic_step = lambda *a, **k: calls.append(1) or original(*a, **k)
    t.train(4, progress=False)
    assert len(calls) == 12
    assert t.steps == 4


def test_wgan_schedule_uses_100_critic_steps_early():
    t = small_trainer("wgan-toy", wgan_schedule=True)
    assert t.recipe.n_critic_at(t.steps) == 100
    t.steps = 25
    assert t.recipe.n_critic_at(t.steps) == t.recipe.n_critic
    t.steps = 500
    assert t.recipe.n_critic_at(t.steps) == 100


def test_clipping_is_applied_every_critic_step():
    t = small_trainer("wgan-toy", clip=0.005)
    t.train(3, progress=False)
    for p in t.critic.parameters():
        assert p.abs().max() <= 0.005 + 1e-12


def test_generator_step_leaves_critic_untouched():
    t = small_trainer("wgan-gp-toy")
    before = params(t.critic).clone()
    t.generator_step(t.recipe)
    assert torch.equal(params(t.critic), before)
    assert all(p.requires_grad for p in t.critic.parameters())


def test_w_estimate_is_mean_real_minus_mean_fake():
    t = small_trainer("wgan-gp-toy")
    _, w, _, _ = t.critic_step(t.recipe)
    # recompute with the same random draws
    u = small_trainer("wgan-gp-toy")
    real = u.next_batch(u.recipe.batch_size)
    with torch.no_grad():
        fake = u.generator(u.noise(u.recipe.batch_size))
        expected = u.critic(real).mean() - u.critic(fake).mean()
    torch.testing.assert_close(w, expected)


def test_no_host_sync_in_step(monkeypatch):
    t = small_trainer("wgan-gp-toy")
    t.flush_every = 10**9

    originals = {name: getattr(torch.Tensor, name) for name in ("item", "tolist", "__bool__")}

    def guard(name):
        def patched(self, *a, **k):
            # torch's own CPU bookkeeping (e.g. Adam's step counter) is not ours to judge
            if "/ganedu/" in sys._getframe(1).f_code.co_filename.replace("\\", "/"):
                raise AssertionError(f"host sync (.{name}()) inside Trainer.step")
            return originals[name](self, *a, **k)
        return patched

    for name in originals:
        monkeypatch.setattr(torch.Tensor, name, guard(name))
    for _ in range(3):
        t.step()
    monkeypatch.undo()
    assert len(t.history["d_loss"]) == 3


def test_set_changes_hyperparameters_and_logs_events():
    t = small_trainer("wgan-gp-toy", lr_decay_steps=0)
    t.train(2, progress=False)
    t.set(gp_lambda=5.0, n_critic=2, lr_d=3e-4)
    assert t.recipe.gp_lambda == 5.0 and t.recipe.n_critic == 2
    assert all(g["lr"] == 3e-4 for g in t.opt_critic.param_groups)
    events = t.history["events"]
    assert {(e["name"], e["value"]) for e in events} == {("gp_lambda", 5.0), ("n_critic", 2), ("lr_d", 3e-4)}
    assert all(e["step"] == 2 for e in events)
    with pytest.raises(ValueError, match="gp_lambda"):
        t.set(gp_lambda=-1.0)
    with pytest.raises(TypeError, match="tunable"):  # not a keyword set() takes, as Recipe.replace
        t.set(loss="hinge")


def lrs_used(trainer, steps):
    """The learning rates each optimiser.step() of ``steps`` generator steps ran with."""
    seen = {"g": [], "d": []}
    for key, opt in (("g", trainer.opt_generator), ("d", trainer.opt_critic)):
        opt.register_step_pre_hook(lambda o, a, k, key=key: seen[key].append(o.param_groups[0]["lr"]))
    trainer.train(steps, progress=False)
    return seen


def test_learning_rate_decays_linearly_then_holds_at_the_floor():
    t = small_trainer("wgan-gp-toy", n_critic=2, lr_g=1e-3, lr_d=2e-3, lr_decay_steps=4, lr_floor=0.25)
    seen = lrs_used(t, 7)
    factors = [1.0, 0.75, 0.5, 0.25, 0.25, 0.25, 0.25]   # 1 - t/4 for t = 0..3, then the floor
    assert seen["g"] == pytest.approx([1e-3 * f for f in factors])
    assert seen["d"] == pytest.approx([2e-3 * f for f in factors for _ in range(2)])  # n_critic = 2


def test_set_learning_rate_keeps_the_decay():
    t = small_trainer("wgan-gp-toy", n_critic=1, lr_decay_steps=4, lr_floor=0.0)
    t.train(2, progress=False)
    t.set(lr_g=1e-2)
    assert t.opt_generator.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5)   # step 2 of 4: half
    assert lrs_used(t, 3)["g"] == pytest.approx([5e-3, 2.5e-3, 0.0])


def test_divergence_stops_with_hint_and_rolls_back():
    t = small_trainer("wgan-gp-toy")
    t.flush_every = 5
    t.train(5, progress=False)
    good = params(t.generator).clone()
    # poison the critic: every score becomes NaN from now on
    with torch.no_grad():
        next(t.critic.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="learning rate|lr_"):
        t.train(5, progress=False)
    assert t.steps == 5
    assert torch.equal(params(t.generator), good)
    assert torch.isfinite(params(t.critic)).all()
    assert len(t.history["d_loss"]) == 5


def test_state_dict_round_trip_continues_bit_for_bit():
    """One place knows a Trainer's state: a fresh trainer given another's state_dict goes on as it would."""
    a = small_trainer(seed=5)
    a.train(4, progress=False)
    a.step()  # a pending step: state_dict flushes it first
    state = a.state_dict()
    assert list(state) == ["steps", "generator", "critic", "opt_generator", "opt_critic", "rng", "history"]
    assert state["steps"] == 5 and len(state["history"]["d_loss"]) == 5
    assert all("module." not in k for k in state["critic"])
    b = small_trainer(seed=99)  # other weights, other stream: all replaced
    b.load_state_dict(copy.deepcopy(state))
    a.train(4, progress=False)
    b.train(4, progress=False)
    assert b.steps == a.steps == 9
    assert torch.equal(params(a.generator), params(b.generator)) and torch.equal(params(a.critic), params(b.critic))
    assert a.history["d_loss"] == b.history["d_loss"]


def test_load_state_dict_refuses_a_state_that_is_not_a_trainers():
    t = small_trainer()
    state = t.state_dict()
    with pytest.raises(ValueError, match=r"missing \['critic'\]"):
        t.load_state_dict({k: v for k, v in state.items() if k != "critic"})
    with pytest.raises(ValueError, match=r"unknown \['opt_d'\]"):
        t.load_state_dict({**state, "opt_d": state["opt_critic"]})


def test_a_roll_back_keeps_the_random_stream_and_the_events():
    t = small_trainer()
    t.flush_every = 5
    t.train(5, progress=False)
    t.set(gp_lambda=0.5)
    with torch.no_grad():
        next(t.critic.parameters()).fill_(float("nan"))
    stream = t.rng.get_state()
    with pytest.raises(TrainingDiverged, match="rolled back to step 5"):
        t.train(5, progress=False)
    assert not torch.equal(t.rng.get_state(), stream)  # drawn on, not rewound
    assert t.history["events"] == [{"step": 5, "name": "gp_lambda", "value": 0.5}]
    t.train(5, progress=False)  # and it trains on from the last good state
    assert t.steps == 10 and torch.isfinite(torch.tensor(t.history["d_loss"])).all()


def test_the_batch_source_is_an_argument():
    seen = []

    def next_batch(n):
        seen.append(n)
        return sample_toy("8gaussians", n, generator=torch.Generator().manual_seed(len(seen)))

    seed_everything(0)
    t = Trainer(get_recipe("wgan-gp-toy", n_critic=3, batch_size=8), MLPGenerator(width=8), MLPCritic(width=8),
                "8gaussians", device="cpu", next_batch=next_batch)
    t.train(2, progress=False)
    assert seen == [8] * 6  # one batch per critic update
    with pytest.raises(TypeError, match="next_batch must be a function"):
        Trainer("wgan-gp-toy", MLPGenerator(width=8), MLPCritic(width=8), "8gaussians", device="cpu",
                next_batch=torch.zeros(4, 2))


class Counted(torch.nn.Module):
    """A stand-in for DistributedDataParallel: the same module, counting the passes through it."""

    def __init__(self, module, counts):
        super().__init__()
        self.module, self.counts = module, counts

    def forward(self, x):
        self.counts[type(self.module).__name__] = self.counts.get(type(self.module).__name__, 0) + 1
        return self.module(x)


def test_parallelize_runs_the_steps_through_the_wrappers(tmp_path):
    counts, seen = {}, []
    t = small_trainer(n_critic=2)
    plain = t.critic
    t.parallelize(lambda m: Counted(m, counts), next_batch=lambda n: seen.append(n) or t.real_batch(n),
                  main_process=False)
    passes = {}  # every forward pass of the networks themselves

    def count(module, inputs, output):
        passes[type(module).__name__] = passes.get(type(module).__name__, 0) + 1

    for net in (t.generator, t.critic):
        net.register_forward_hook(count)
    t.train(1, progress=False)
    assert counts == passes and passes["MLPGenerator"] == 2 + 1 and passes["MLPCritic"] >= 2 * 2 + 1
    assert seen == [64, 64]  # one batch per critic update, from the new source
    assert t.critic is plain and not t.use_cuda_graphs  # plain networks kept; wrapped steps run eagerly
    assert all(not k.startswith("module.") for k in t.state_dict()["generator"])
    t.save(tmp_path / "c.pt")  # not the main process: nothing written
    assert not (tmp_path / "c.pt").exists()
    with pytest.raises(ValueError, match="already distributed"):
        t.parallelize(lambda m: m)
    with pytest.raises(TypeError, match="main_process"):
        t.parallelize(main_process=1)


def test_gradient_penalty_recipe_refuses_batchnorm_critic():
    g, c = MLPGenerator(width=16), MLPCritic(width=16, norm="batch")
    with pytest.raises(ValueError, match="BatchNorm"):
        Trainer("wgan-gp", g, c, "8gaussians", device="cpu")


@pytest.mark.parametrize("bad, match", [
    (dict(recipe="nope"), "wgan-gp"),            # lists valid recipes
    (dict(data="mnist3"), "8gaussians"),         # lists valid datasets
    (dict(gp_lambda=-1.0), "gp_lambda"),
    (dict(clip=0.0), "clip"),
    (dict(n_critic=0), "n_critic"),
    (dict(lr_g=-1e-3), "lr_g"),
])
def test_bad_input_names_the_argument(bad, match):
    kw = dict(recipe="wgan-gp-toy", data="8gaussians")
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        Trainer.from_recipe(kw.pop("recipe"), kw.pop("data"), device="cpu", **kw)


def test_sample_does_not_disturb_training_stream():
    a, b = small_trainer(seed=2), small_trainer(seed=2)
    a.train(3, progress=False)
    a.sample(100)
    a.real_batch(100)
    a.train(3, progress=False)
    b.train(6, progress=False)
    assert torch.equal(params(a.generator), params(b.generator))


MOVES = {  # recipe -> (generator steps, overrides) of a short run on 8gaussians
    "gan": (400, {}), "nsgan": (400, {}),  # the paper GANs at their own width (512)
    "wgan": (300, dict(width=64, lr_g=5e-4, lr_d=5e-4)),  # the paper's 5e-5 needs thousands of steps
    "sngan": (300, dict(width=64)),  # the paper's WGAN-GP moves slower: its own test below
    **{name: (300, {}) for name in ("gan-toy", "nsgan-toy", "wgan-toy", "wgan-gp-toy", "sngan-toy", "r1-toy", "lsgan-toy")},
}  # r1-toy and lsgan-toy, seeds 0-2 (2026-12-01): W1 ratios 0.16-0.24 and 0.22-0.26 (AVX2), 0.16-0.22 and 0.24-0.27 (default)


@pytest.mark.training_outcome
@pytest.mark.parametrize("recipe", sorted(MOVES))
def test_every_recipe_moves_towards_the_data(recipe):
    """W1 from the generator's samples to the data falls after a short run (8gaussians)."""
    steps, kw = MOVES[recipe]
    t = Trainer.from_recipe(recipe, "8gaussians", device="cpu", seed=0, **kw)
    real = sample_toy("8gaussians", 500, generator=torch.Generator().manual_seed(9))
    before = w1_to_data(t.sample(500), real)
    t.train(steps, progress=False)
    after = w1_to_data(t.sample(500), real)
    assert after < 0.8 * before, f"{recipe}: W1 {before:.3f} -> {after:.3f}"


@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paper_wgan_gp_moves_towards_the_data(seed):
    """The paper's WGAN-GP (lr 1e-4, n_critic 5, λ 10) moves slowly on the toy data: after 300 steps seeds
    0-2 ended at W1 ratios 0.78, 2.21 and 0.79 (600-900 steps: 0.6-1.46). At 1,000 steps every one of
    seeds 0-4 is closer to the data, on both kernel sets: ratios 0.56-0.91 (default) and 0.47-0.71 (avx2);
    seeds 0-2 at most 0.86. We claim what holds with a margin: W1 falls by at least 5%."""
    t = Trainer.from_recipe("wgan-gp", "8gaussians", device="cpu", seed=seed, width=64)
    real = sample_toy("8gaussians", 500, generator=torch.Generator().manual_seed(9))
    before = w1_to_data(t.sample(500), real)
    t.train(1000, progress=False)
    after = w1_to_data(t.sample(500), real)
    assert after < 0.95 * before, f"wgan-gp, seed {seed}: W1 {before:.3f} -> {after:.3f}"


def test_every_recipe_is_covered():
    assert set(MOVES) | {"dcgan", "wgan-gp"} == set(RECIPES)


@pytest.mark.training_outcome
def test_dcgan_recipe_on_digits_improves_frechet():
    from ganedu.data import load_digits
    from ganedu.metrics import frechet_distance

    seed_everything(0)
    t = Trainer.from_recipe("dcgan", "digits", device="cpu", seed=0, batch_size=64)
    real = load_digits(16)[0][:500]
    before = frechet_distance(real, t.sample(500))
    t.train(150, progress=False)
    after = frechet_distance(real, t.sample(500))
    assert after < 0.7 * before, f"Frechet {before:.2f} -> {after:.2f}"


def steps_to_quality(trainer, data, need_modes, max_steps, every=250, hq=0.9):
    """The first checked step with >= need_modes modes and >= ``hq`` HQ on 2,500 samples, or None."""
    modes, std = toy_modes(data), toy_std(data)
    while trainer.steps < max_steps:
        trainer.train(min(every, max_steps - trainer.steps), progress=False)
        m = mode_coverage(trainer.sample(2500), modes, std)
        if m["modes"] >= need_modes and m["hq"] >= hq:
            return trainer.steps, m       # stop here: the rest of the budget would be wasted
    return None, m


# Training-outcome tests (marker training_outcome; `make test` runs them again under
# ATEN_CPU_CAPABILITY=default): float rounding differs between CPU kernels and a GAN's trajectory is
# chaotic, so each claim is checked on several seeds at a horizon with a measured margin (issue 14).
QUALITY_SEEDS = (0, 1, 2)


@pytest.mark.slow
@pytest.mark.training_outcome
@pytest.mark.parametrize("seed", QUALITY_SEEDS)
def test_fast_toy_wgan_gp_reaches_all_modes_within_3000_steps(seed):
    """Issue target: 8/8 modes and >= 90% high-quality samples within 3,000 generator steps, every seed.

    Measured (seeds 0-4, ATEN_CPU_CAPABILITY = default and avx2): first reached at 1,750-2,000 steps
    and held to 3,000. Coverage before ~1,500 steps is chaotic (seed 0 covers 1-5 modes at 250-750
    steps, and 0 at 400 on an AVX-512 CPU), so "more modes after training" is checked here, at quality.
    """
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="cpu", seed=seed)
    before = mode_coverage(t.sample(2500), toy_modes("8gaussians"), toy_std("8gaussians"))
    step, last = steps_to_quality(t, "8gaussians", 8, 3000)
    assert step is not None, f"8gaussians, seed {seed}: not reached in 3000 steps, last check {last}"
    assert last["modes"] > before["modes"] and last["hq"] > before["hq"], (before, last)


# The grid (25 Gaussians) on every kernel set, as the recipe's note says: with the learning rate decayed
# over 10,000 steps to a hundredth, 25/25 modes and >= 90% HQ at step 10,000. Measured with Trainer runs,
# seeds 0-4 (all 25/25): HQ 0.9216-0.9684 under ATEN_CPU_CAPABILITY=default, 0.9356-0.9500 on avx2. The
# 6,000-step decay of notebooks 05 and 07 ends at HQ 0.865-0.906 under default kernels (>= 0.90 on avx2
# only), so the 90% claim is made for the longer run. The three seeds train as one population (member k
# is the Trainer run of seed k up to float rounding, tests/test_population.py): 0.67x the CPU time of
# three Trainer runs here. Population, seeds 0-2, step 10,000: all 25/25, HQ 0.9684 / 0.9216 / 0.9316 (default,
# the same numbers as the Trainer runs) and 0.9464 / 0.9500 / 0.9436 (avx2).
GRID_SEEDS = (0, 1, 2)
GRID_LONG = dict(lr_decay_steps=10_000, lr_floor=0.01)


@pytest.mark.slow(seconds=450)  # (the longest test: started first, see conftest.py)
@pytest.mark.training_outcome
def test_fast_toy_wgan_gp_on_25_gaussians_with_the_decay_over_10000_steps():
    """25/25 modes and >= 90% HQ after 10,000 steps, every seed."""
    population = Population.from_zip("wgan-gp-toy", "25gaussians", seeds=list(GRID_SEEDS), device="cpu", **GRID_LONG)
    population.train(GRID_LONG["lr_decay_steps"], progress=False)
    modes, std = toy_modes("25gaussians"), toy_std("25gaussians")
    results = {seed: mode_coverage(samples, modes, std) for seed, samples in zip(GRID_SEEDS, population.sample(2500))}
    failed = {seed: r for seed, r in results.items() if not (r["modes"] == 25 and r["hq"] >= 0.90)}
    assert not failed, f"25gaussians at step 10,000, seeds that missed 25/25 modes with >= 90% HQ: {failed}"

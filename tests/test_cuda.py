"""The GPU path: a step replayed as a CUDA graph equals the readable step. Skipped without CUDA.

Run on a GPU machine with ``python -m pytest tests/test_cuda.py`` (CI has no GPU).
"""
import pytest
import torch

from ganedu.data import toy_modes, toy_std
from ganedu.scale.distributed import enable_amp
from ganedu.metrics import mode_coverage
from ganedu.train import HISTORY_KEYS, Trainer, TrainingDiverged

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def pair(recipe="wgan-gp-toy", data="8gaussians", seed=0, **overrides):
    """The same run twice on the GPU: replayed from a CUDA graph, and eagerly."""
    graphed = Trainer.from_recipe(recipe, data, device="cuda", seed=seed, **overrides)
    eager = Trainer.from_recipe(recipe, data, device="cuda", seed=seed, **overrides)
    eager.use_cuda_graphs = False
    return graphed, eager


def assert_same_run(a, b, rtol=1e-5, atol=1e-6):
    for key in HISTORY_KEYS:
        torch.testing.assert_close(torch.tensor(a.history[key]), torch.tensor(b.history[key]), rtol=rtol, atol=atol,
                                   msg=key)
    for net in ("generator", "critic"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=rtol, atol=atol, msg=f"{net}.{k}")


@pytest.mark.parametrize("recipe", ["wgan-gp-toy", "wgan-toy", "sngan-toy", "nsgan-toy"])
def test_graph_replay_equals_the_eager_step(recipe):
    graphed, eager = pair(recipe)
    graphed.train(30, progress=False)
    eager.train(30, progress=False)
    assert graphed.use_cuda_graphs and graphed._graph is not None
    assert graphed._graph[1].recorded and graphed._graph[1].failed is None
    assert eager._graph is None
    assert_same_run(graphed, eager)


def test_lr_decay_reaches_the_graph():
    graphed, eager = pair("wgan-gp-toy", lr_decay_steps=40)
    graphed.train(30, progress=False)
    eager.train(30, progress=False)
    lr = graphed.opt_generator.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and lr.is_cuda
    assert float(lr) == pytest.approx(graphed.recipe.lr_g * graphed.recipe.lr_factor(29))
    assert_same_run(graphed, eager)


def test_set_records_again_and_takes_effect():
    graphed, eager = pair("wgan-gp-toy")
    for t in (graphed, eager):
        t.train(10, progress=False)
        t.set(gp_lambda=1.0, n_critic=2)
        t.train(10, progress=False)
    assert graphed._graph[0].gp_lambda == 1.0 and graphed._graph[0].n_critic == 2
    assert_same_run(graphed, eager)


def test_dcgan_with_batchnorm_replays_equal(monkeypatch):
    # cuDNN's fastest conv backward kernels add in a varying order; ask for its deterministic ones
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    graphed, eager = pair("dcgan", "digits", batch_size=32)
    graphed.train(12, progress=False)
    eager.train(12, progress=False)
    assert graphed._graph[1].recorded
    assert_same_run(graphed, eager)


def test_amp_step_is_recorded_and_finite():
    t = Trainer.from_recipe("wgan-gp", "digits", device="cuda", seed=0, batch_size=32)
    enable_amp(t)
    t.train(10, progress=False)
    assert t._graph[1].recorded and t._graph[1].failed is None
    assert all(torch.isfinite(torch.tensor(t.history[k])).all() for k in HISTORY_KEYS)


def test_checkpoint_from_the_gpu_resumes_on_gpu_and_cpu(tmp_path):
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="cuda", seed=0)
    t.train(20, progress=False)
    t.save(tmp_path / "c.pt")
    on_gpu = Trainer.load(tmp_path / "c.pt", device="cuda")
    t.train(10, progress=False)
    on_gpu.train(10, progress=False)
    assert_same_run(t, on_gpu)
    with pytest.warns(RuntimeWarning, match="another kind of device"):
        on_cpu = Trainer.load(tmp_path / "c.pt", device="cpu")
    on_cpu.train(5, progress=False)
    assert on_cpu.steps == 25 and isinstance(on_cpu.opt_generator.param_groups[0]["lr"], float)


def test_divergence_rolls_back_on_the_gpu():
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="cuda", seed=0)
    t.train(50, progress=False)  # recorded, and the last good state is step 50
    good = [p.detach().clone() for p in t.generator.parameters()]
    with torch.no_grad():  # poison the critic: every score becomes NaN from now on
        next(t.critic.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged):
        t.train(50, progress=False)
    assert t.steps == 50
    assert all(torch.equal(a, b) for a, b in zip(t.generator.parameters(), good))
    assert all(torch.isfinite(p).all() for p in t.critic.parameters())
    t.train(60, progress=False)  # goes on after the roll-back, with a new recording
    assert t.steps == 110 and t._graph[1].recorded
    assert all(torch.isfinite(torch.tensor(t.history[k])).all() for k in HISTORY_KEYS)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_toy_reaches_quality_on_the_gpu(seed):
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="cuda", seed=seed)
    modes, std = toy_modes("8gaussians"), toy_std("8gaussians")
    for _ in range(60):  # 3,000 steps at most
        t.train(50, progress=False)
        cov = mode_coverage(t.sample(2500), modes, std)
        if cov["modes"] == 8 and cov["hq"] >= 0.9:
            break
    assert cov["modes"] == 8 and cov["hq"] >= 0.9, (t.steps, cov)


def test_auto_puts_the_toy_on_the_gpu_when_it_can_replay_graphs():
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="auto")
    assert t.device.type == "cuda" and t.use_cuda_graphs

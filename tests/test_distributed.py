"""ganedu.scale.distributed: DDP on the CPU with gloo, mixed precision, channels-last, the sampler.

The multi-process tests launch this very file as torchrun's worker, once for the module:
``python -m torch.distributed.run --nproc-per-node 2 tests/test_distributed.py OUT``; each rank
writes what it saw to ``OUT/rank{r}.pt`` and the tests compare the two ranks, and rank 0 with a
single process that trains on the two ranks' data at once. No GPU is needed anywhere.
"""
import os
import socket
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as torchrun's worker script
    sys.path.insert(0, ROOT)

from ganedu import seed_everything  # noqa: E402
from ganedu.scale import distributed  # noqa: E402
from ganedu.data import DigitsDataset, sample_toy  # noqa: E402
from ganedu.models import DCGANDiscriminator, DCGANGenerator, MLPCritic, MLPGenerator  # noqa: E402
from ganedu.train import Trainer, get_recipe  # noqa: E402

B = 16  # per-rank batch of the equivalence run; the single process uses 2 * B


def plain_state(trainer, buffers=False) -> dict:
    """Parameters (and buffers) of both networks, plain names, cloned."""
    out = {}
    for net in ("generator", "critic"):
        module = distributed.unwrap(getattr(trainer, net))
        items = module.state_dict().items() if buffers else module.named_parameters()
        out.update({f"{net}.{k}": v.detach().clone() for k, v in items})
    return out


def scripted(trainer, rank: int, per_rank: int):
    """Feed ``trainer`` global batch k of 2B real points, 2B codes and 2B ε; rank r takes rows
    [r·b, (r+1)·b). A single process (rank 0, b = 2B) takes them all."""
    lo, calls = rank * per_rank, {"real": 0, "noise": 0}

    def next_batch(n):  # called first in every critic step
        k = calls["real"]
        calls["real"] += 1
        real = sample_toy("8gaussians", 2 * B, generator=torch.Generator().manual_seed(100 + k))
        eps_stream = torch.Generator().manual_seed(200 + k)
        torch.rand(lo, 1, generator=eps_stream)  # skip the ε of the rows before ours
        trainer.rng.set_state(eps_stream.get_state())  # the step's interpolate draws ε from trainer.rng
        return real[lo:lo + n]

    def noise(n):  # once per critic step, once per generator step
        k = calls["noise"]
        calls["noise"] += 1
        return torch.randn(2 * B, trainer.generator.z_dim, generator=torch.Generator().manual_seed(300 + k))[lo:lo + n]

    trainer.next_batch, trainer.noise = next_batch, noise


def equivalence_run(per_rank: int, rank: int = 0, distribute: bool = False, steps: int = 3):
    """WGAN-GP (paper recipe: Adam, λ = 10; no BatchNorm) on scripted data; returns (init, final)."""
    recipe = get_recipe("wgan-gp", n_critic=2, batch_size=per_rank, lr_g=1e-3, lr_d=1e-3)
    seed_everything(0)
    trainer = Trainer(recipe, MLPGenerator(z_dim=2, width=32, depth=2), MLPCritic(width=32, depth=2),
                      "8gaussians", device="cpu", seed=0)
    init = plain_state(trainer)
    if distribute:
        distributed.distribute(trainer)
    scripted(trainer, rank, per_rank)
    trainer.train(steps, progress=False)
    return init, plain_state(trainer)


def worker(out: str):
    """torchrun's worker: the runs the tests below check, one result file per rank."""
    from ganedu.__main__ import main

    info = distributed.init_distributed("cpu")
    result = {"world_size": info.world_size}
    result["eq_init"], result["eq_final"] = equivalence_run(B, info.rank, distribute=True)
    # SNGAN (spectral norm, hinge) with the Trainer's own streams of data and noise
    trainer = Trainer.from_recipe("sngan-toy", "8gaussians", device="cpu", seed=3, width=32, batch_size=32)
    result["sn_init"] = plain_state(trainer, buffers=True)
    distributed.distribute(trainer)
    trainer.train(3, progress=False)
    result["sn_final"] = plain_state(trainer, buffers=True)
    result["sn_noise"], result["sn_real"] = trainer.noise(4), trainer.next_batch(4)
    # DCGAN (BatchNorm in both networks) on a Dataset, read through the DistributedSampler
    seed_everything(5)
    trainer = Trainer(get_recipe("dcgan", batch_size=8, z_dim=16), DCGANGenerator(z_dim=16, image_size=16, base=8),
                      DCGANDiscriminator(image_size=16, base=8), DigitsDataset(16), device="cpu", seed=5)
    distributed.distribute(trainer)
    trainer.train(2, progress=False)
    result["bn_before"] = plain_state(trainer, buffers=True)
    distributed.average_buffers(trainer)
    result["bn_after"] = plain_state(trainer, buffers=True)
    # the CLI itself (it reuses the process group, and leaves it at the end)
    result["cli"] = main(["train", "wgan-gp-toy", "--steps", "3", "--batch-size", "32", "--no-progress",
                          "--out", os.path.join(out, "cli")])
    torch.save(result, os.path.join(out, f"rank{info.rank}.pt"))


if __name__ == "__main__":
    worker(sys.argv[1])
    sys.exit(0)

# ---------------------------------------------------------------------------------- the tests
import json  # noqa: E402

import pytest  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Launch torchrun with two CPU processes (gloo) once; return (out dir, [rank0, rank1] results)."""
    out = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, GANEDU_OFFLINE="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()), os.path.abspath(__file__), str(out)]
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.stdout[-4000:], res.stderr[-4000:])
    print(f"torchrun, 2 processes: {time.perf_counter() - start:.1f} s")
    return out, [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)], res.stdout


def assert_states_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs between the ranks"


def moved(a: dict, b: dict) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a if "weight" in k or "original" in k)


def test_two_ranks_start_equal_and_end_with_identical_weights(ranks):
    _, (r0, r1), _ = ranks
    assert r0["world_size"] == r1["world_size"] == 2
    for run in ("eq", "sn"):
        assert_states_equal(r0[f"{run}_init"], r1[f"{run}_init"])  # same seed: same initial weights
        assert_states_equal(r0[f"{run}_final"], r1[f"{run}_final"])  # averaged gradients: same updates
        assert moved(r0[f"{run}_init"], r0[f"{run}_final"])
    params = {k: v for k, v in r0["bn_after"].items() if "running" not in k and "num_batches" not in k}
    assert_states_equal(params, {k: r1["bn_after"][k] for k in params})


def test_ranks_draw_different_noise_and_data(ranks):
    _, (r0, r1), _ = ranks
    assert not torch.equal(r0["sn_noise"], r1["sn_noise"])
    assert not torch.equal(r0["sn_real"], r1["sn_real"])


def test_spectral_norm_u_agrees_without_buffer_broadcast(ranks):
    """u follows from the (identical) weights alone, so it agrees with no communication."""
    _, (r0, r1), _ = ranks
    u_keys = [k for k in r0["sn_final"] if k.endswith(".u")]
    assert len(u_keys) == 4  # the critic's 3 hidden layers and its output layer (the generator has no SN)
    for k in u_keys:
        assert torch.equal(r0["sn_final"][k], r1["sn_final"][k])
        if r0["sn_final"][k].numel() > 1:  # (the output layer's u is the 1-vector ±1)
            assert not torch.equal(r0["sn_final"][k], r0["sn_init"][k])  # power iteration did move it


def test_batchnorm_keeps_per_rank_statistics_then_averages_them(ranks):
    _, (r0, r1), _ = ranks
    keys = [k for k in r0["bn_before"] if "running_mean" in k or "running_var" in k]
    assert keys and any(not torch.equal(r0["bn_before"][k], r1["bn_before"][k]) for k in keys)
    for k in keys:  # the mean of the two ranks' statistics, on both ranks
        mean = (r0["bn_before"][k].double() + r1["bn_before"][k].double()) / 2
        torch.testing.assert_close(r0["bn_after"][k].double(), mean, rtol=1e-6, atol=1e-7)
        assert torch.equal(r0["bn_after"][k], r1["bn_after"][k])


def test_two_ranks_with_batch_b_update_like_one_process_with_batch_2b(ranks):
    _, (r0, r1), _ = ranks
    assert torch.equal(torch.rand(2 * B, 1, generator=torch.Generator().manual_seed(7)),
                       torch.cat([torch.rand(B, 1, generator=g) for g in [torch.Generator().manual_seed(7)] * 2])), \
        "the scripted ε split assumes torch.rand draws sequentially on the CPU"
    init, single = equivalence_run(2 * B)  # one process, batch 2B, no DDP
    assert_states_equal(init, r0["eq_init"])
    for k in single:
        torch.testing.assert_close(r0["eq_final"][k], single[k], rtol=1e-5, atol=1e-6, msg=k)
    # the check can fail: rank 0's half alone (no gradient averaging) is far from it
    _, half = equivalence_run(B)
    worst = max(float((half[k] - single[k]).abs().max()) for k in single)
    assert worst > 1e-4, worst


def test_cli_under_torchrun_writes_once_from_rank_0(ranks):
    out, (r0, r1), stdout = ranks
    assert r0["cli"] == 0 and r1["cli"] == 0
    assert stdout.count("ganedu: training wgan-gp-toy") == 1  # rank 0 alone logs
    assert sorted(os.listdir(out / "cli")) == ["checkpoint.pt", "curves.png", "metrics.json", "samples.png"]
    metrics = json.loads((out / "cli" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 3 and metrics["real_images_per_s"] > 0
    trainer = Trainer.load(out / "cli" / "checkpoint.pt", device="cpu")  # plain keys, no "module."
    assert trainer.steps == 3


# ---- in one process --------------------------------------------------------------------------

@pytest.fixture
def group_of_one():
    """A gloo process group with this process alone (world size 1)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_init_distributed_outside_torchrun(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = distributed.init_distributed("cpu")
    assert (info.rank, info.world_size, info.distributed, info.is_main) == (0, 1, False, True)
    assert distributed.is_main_process()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer"):
        distributed.init_distributed("cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match=r"RANK=2 must lie in \[0, WORLD_SIZE=2\)"):
        distributed.init_distributed("cpu")


def test_distribute_needs_a_process_group():
    trainer = Trainer.from_recipe("wgan-gp-toy", device="cpu", width=16)
    with pytest.raises(ValueError, match="torchrun"):
        distributed.distribute(trainer)


def test_distributed_checkpoint_has_plain_keys_and_resumes(group_of_one, tmp_path):
    trainer = Trainer.from_recipe("wgan-gp-toy", device="cpu", width=16, batch_size=32)
    with pytest.raises(ValueError, match="SyncBatchNorm runs on GPUs only"):
        distributed.distribute(trainer, sync_batchnorm=True)
    distributed.distribute(trainer)
    with pytest.raises(ValueError, match="already distributed"):
        distributed.distribute(trainer)
    trainer.train(2, progress=False)
    trainer.save(tmp_path / "c.pt")
    loaded = Trainer.load(tmp_path / "c.pt", device="cpu")
    assert loaded.steps == 2
    for k, v in distributed.unwrap(trainer.critic).state_dict().items():
        assert torch.equal(loaded.critic.state_dict()[k], v)


def test_sampler_batches_split_each_epoch_between_ranks():
    dataset = torch.utils.data.TensorDataset(torch.arange(40).float().view(40, 1), torch.zeros(40))
    per_rank = []
    for rank in (0, 1):
        next_batch = distributed.sampler_batches(dataset, "cpu", seed=1, rank=rank, world_size=2)
        per_rank.append([next_batch(5).view(-1).long().tolist() for _ in range(8)])  # two epochs
    for epoch in (0, 1):
        seen = [sum(batches[4 * epoch:4 * epoch + 4], []) for batches in per_rank]
        assert set(seen[0]).isdisjoint(seen[1]) and sorted(seen[0] + seen[1]) == list(range(40))
    assert per_rank[0][:4] != per_rank[0][4:]  # a new shuffle each epoch
    with pytest.raises(ValueError, match="larger than each rank's share"):
        distributed.sampler_batches(dataset, "cpu", rank=0, world_size=2)(21)


def test_rank_seeds_differ_and_rank_0_keeps_the_seed():
    assert distributed.rank_seed(7, 0) == 7
    seeds = {distributed.rank_seed(s, r) for s in range(3) for r in range(4)}
    assert len(seeds) == 12


def test_gradient_penalty_is_float32_under_bf16_autocast():
    """The penalty and its gradient wrt the critic under autocast equal the float32 ones exactly;
    without the float32 pass (the control below) they are visibly off."""
    from ganedu.lipschitz import gradient_norms, gradient_penalty, penalty_from_norms

    torch.manual_seed(0)
    critic = DCGANDiscriminator(image_size=16, norm="layer")
    real, fake, eps = torch.rand(8, 1, 16, 16) * 2 - 1, torch.rand(8, 1, 16, 16) * 2 - 1, torch.rand(8)
    params = list(critic.parameters())

    def penalty_and_grads(fn):
        gp = fn()
        return gp, torch.autograd.grad(gp, params, allow_unused=True, materialize_grads=True)

    ref, ref_grads = penalty_and_grads(lambda: gradient_penalty(critic, real, fake, eps=eps))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(real).dtype == torch.bfloat16  # autocast is really on
        amp, amp_grads = penalty_and_grads(lambda: gradient_penalty(critic, real, fake, eps=eps))
        x_hat = (eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake).requires_grad_()

        def bf16_penalty():  # the critic pass on x_hat left to autocast
            (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
            return penalty_from_norms(gradient_norms(grad))

        bad, bad_grads = penalty_and_grads(bf16_penalty)
    assert amp.dtype == torch.float32
    torch.testing.assert_close(amp, ref, rtol=1e-6, atol=0)
    for a, r in zip(amp_grads, ref_grads):
        torch.testing.assert_close(a, r, rtol=1e-5, atol=1e-7)
    assert abs(float(bad.detach()) - float(ref.detach())) / float(ref.detach()) > 1e-3


def tiny_image_trainer(recipe="wgan-gp", **kw):
    seed_everything(1)
    data = DigitsDataset(16).images[:64]
    return Trainer(get_recipe(recipe, batch_size=8, z_dim=16, n_critic=2),
                   DCGANGenerator(z_dim=16, image_size=16, base=8),
                   DCGANDiscriminator(image_size=16, base=8, norm="layer"), data, device="cpu", seed=1, **kw)


def test_amp_trainer_runs_bf16_convs_and_a_float32_penalty():
    trainer = distributed.enable_amp(tiny_image_trainer())
    dtypes = []
    handle = trainer.critic.register_forward_hook(lambda m, i, o: dtypes.append((i[0].requires_grad, o.dtype)))
    trainer.train(1, progress=False)
    handle.remove()
    # per critic step: real, fake in bf16, then x_hat (requires grad) in float32
    assert (False, torch.bfloat16) in dtypes and (True, torch.float32) in dtypes
    assert all(dtype == torch.float32 for needs_grad, dtype in dtypes[:6] if needs_grad)
    assert all(torch.isfinite(torch.tensor(trainer.history[k])).all() for k in ("d_loss", "g_loss", "gp"))
    with pytest.raises(ValueError, match="bfloat16"):
        distributed.enable_amp(tiny_image_trainer(), dtype=torch.float16)


def gradients_of_first_step(trainer, net):
    """The gradients the first optimiser step of ``net`` ("critic" or "generator") applies, from the initial state."""
    opt = trainer.opt_critic if net == "critic" else trainer.opt_generator
    seen = []

    def keep_first(optimizer, args, kwargs):
        if not seen:
            seen.extend(p.grad.detach().clone() for group in optimizer.param_groups for p in group["params"])

    handle = opt.register_step_pre_hook(keep_first)
    trainer.critic_step(trainer.recipe) if net == "critic" else trainer.generator_step(trainer.recipe)
    handle.remove()
    return seen


# Relative tolerance on a whole gradient tensor: channels-last sums the same products in another
# order (NHWC vs NCHW kernels), float32 rounding ~6e-8 per add; measured ||g_nhwc - g_plain|| / ||g_plain||
# <= 5.6e-7 for every tensor under ATEN_CPU_CAPABILITY = default and avx2 (issue 14), so 1e-5 leaves an
# 18x margin; a wrong layout or a skipped conversion gives O(1).
GRAD_RTOL = 1e-5


@pytest.mark.parametrize("net", ["critic", "generator"])
def test_channels_last_gives_the_same_gradients(net):
    """Compare the gradients, not the parameters after an Adam step: Adam's first update is
    lr * g / (|g| + eps), about +-lr for *every* element however small its gradient, so an element
    whose gradient is at rounding level (here generator.net.0.weight) moves by +-lr in either layout
    and the parameters may differ by 2 lr with nothing wrong."""
    plain, nhwc = tiny_image_trainer(), distributed.channels_last_(tiny_image_trainer())
    assert nhwc.critic.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    ref, got = gradients_of_first_step(plain, net), gradients_of_first_step(nhwc, net)
    assert len(ref) == len(got) > 0
    for r, g in zip(ref, got):
        assert g.shape == r.shape
        err = float((g - r).norm()) / max(float(r.norm()), 1e-30)
        assert err <= GRAD_RTOL, f"{net} gradient differs by {err:.2e} (relative norm)"


def test_channels_last_survives_training():
    """A whole step (2 critic updates, 1 generator update) keeps the kernels channels-last. (Its
    parameters are not compared with a plain run's: after Adam's first update they differ by up to
    2 lr wherever the gradient is at rounding level, and the losses by ~1e-3 after 3 steps under
    ATEN_CPU_CAPABILITY=default; the gradients above are the principled comparison.)"""
    nhwc = distributed.channels_last_(tiny_image_trainer())
    nhwc.train(1, progress=False)
    assert nhwc.critic.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.isfinite(p).all() for p in nhwc.critic.parameters())


def test_cli_scaling_flags(tmp_path, monkeypatch, capsys):
    from ganedu.__main__ import main

    monkeypatch.chdir(tmp_path)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "GANEDU_DATA"):  # restored afterwards (--data-root sets it)
        monkeypatch.delenv(name, raising=False)
    assert main(["train", "wgan-gp-toy", "--steps", "1", "--sync-bn", "--out", "x"]) == 2
    assert "--sync-bn only matters with several processes" in capsys.readouterr().err
    assert main(["train", "wgan-gp", "--data", "cifar10", "--data-root", str(tmp_path / "none"),
                 "--steps", "1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "CIFAR-10 was not found under" in err and str(tmp_path / "none") in err
    assert main(["train", "wgan-gp-toy", "--steps", "1", "--batch-size", "16", "--amp", "--no-progress",
                 "--out", "amp"]) == 0
    out = capsys.readouterr().out
    assert "--amp on cpu" in out
    metrics = json.loads((tmp_path / "amp" / "metrics.json").read_text())
    assert metrics["precision"] == "bf16-autocast" and metrics["world_size"] == 1

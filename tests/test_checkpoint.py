"""Checkpoints: corrupt, foreign and custom-network files give clear errors; state round-trips."""
import pytest
import torch

from ganedu.checkpoint import read_checkpoint
from ganedu.models import MLPCritic, MLPGenerator
from ganedu.train import Trainer


@pytest.fixture
def saved(tmp_path):
    t = Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="cpu", seed=0, width=16)
    t.train(3, progress=False)
    t.set(gp_lambda=1.0)
    t.save(tmp_path / "ck.pt")
    return t, tmp_path / "ck.pt"


def test_round_trip_keeps_recipe_history_and_events(saved):
    t, path = saved
    u = Trainer.load(path, device="cpu")
    assert u.recipe == t.recipe and u.steps == 3
    assert u.history["d_loss"] == t.history["d_loss"]
    assert u.history["events"] == [{"step": 3, "name": "gp_lambda", "value": 1.0}]


def test_corrupt_file_is_a_clear_error(tmp_path, saved):
    _, path = saved
    bad = tmp_path / "bad.pt"
    bad.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match="corrupt"):
        Trainer.load(bad)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.pt"):
        Trainer.load(text)


def test_foreign_checkpoint_is_refused(tmp_path):
    foreign = tmp_path / "resnet.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(ValueError, match="not a ganedu checkpoint"):
        Trainer.load(foreign)
    with pytest.raises(ValueError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")


def test_pickled_objects_are_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("should never run",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "ganedu-checkpoint", "x": Evil()}, path)
    with pytest.raises(ValueError, match="not written by ganedu|corrupt"):
        Trainer.load(path)


def test_custom_networks_need_to_be_passed_back(tmp_path):
    g, c = MLPGenerator(width=8), MLPCritic(width=8)
    t = Trainer("wgan-gp-toy", g, c, "8gaussians", device="cpu")
    t.train(2, progress=False)
    t.save(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="custom networks"):
        Trainer.load(tmp_path / "c.pt")
    u = Trainer.load(tmp_path / "c.pt", generator=MLPGenerator(width=8), critic=MLPCritic(width=8),
                     data="8gaussians", device="cpu")
    assert u.steps == 2


def test_a_random_stream_from_another_kind_of_device_restarts_with_a_warning(saved, tmp_path):
    """A GPU trainer's stream is a CUDA generator's 16-byte state; a CPU generator cannot take it."""
    t, path = saved
    state = torch.load(path, weights_only=True)
    state["trainer"]["rng"] = torch.zeros(16, dtype=torch.uint8)  # the shape of a CUDA generator's state
    torch.save(state, tmp_path / "from_gpu.pt")
    with pytest.warns(RuntimeWarning, match="another kind of device"):
        u = Trainer.load(tmp_path / "from_gpu.pt", device="cpu")
    assert u.rng.initial_seed() == state["seed"] + state["trainer"]["steps"]
    u.train(2, progress=False)
    assert u.steps == 5 and torch.isfinite(torch.tensor(u.history["d_loss"])).all()


def test_a_version_1_checkpoint_still_loads(saved, tmp_path):
    """Version 1 kept the Trainer's fields at the top level (optimisers as opt_g / opt_d)."""
    t, path = saved
    v2 = torch.load(path, weights_only=True)
    s = v2["trainer"]
    v1 = {"format": v2["format"], "version": 1, "recipe": v2["recipe"], "data": v2["data"],
          "model_spec": v2["model_spec"], "seed": v2["seed"], "steps": s["steps"], "generator": s["generator"],
          "critic": s["critic"], "opt_g": s["opt_generator"], "opt_d": s["opt_critic"],
          "rng": {"data": s["rng"], "torch": v2["torch_rng"]["cpu"], "cuda": v2["torch_rng"]["cuda"]},
          "history": s["history"]}
    torch.save(v1, tmp_path / "v1.pt")
    old, new = Trainer.load(tmp_path / "v1.pt", device="cpu"), Trainer.load(path, device="cpu")
    old.train(3, progress=False)
    new.train(3, progress=False)
    assert old.steps == new.steps == 6
    assert all(old.history[k] == new.history[k] for k in old.history if k != "time")
    for a, b in zip(old.critic.parameters(), new.critic.parameters()):
        assert torch.equal(a, b)
    torch.save({**v1, "version": 7}, tmp_path / "v7.pt")
    with pytest.raises(ValueError, match="has version 7; this ganedu reads versions 1 and 2"):
        Trainer.load(tmp_path / "v7.pt")

"""Package root: seeding, device choice, quick mode."""
import random

import numpy as np
import pytest
import torch

from ganedu import get_device, quick_mode, seed_everything


def test_seed_everything_repeats_all_generators():
    seed_everything(5)
    a = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(5)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    with pytest.raises(TypeError, match="seed"):
        seed_everything("5")
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_get_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device("auto").type in ("cpu", "mps")
    assert get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device("cuda")
    with pytest.raises(ValueError, match="'gpu'"):
        get_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("auto") == torch.device("cuda")


def test_auto_keeps_small_networks_off_a_gpu_that_would_be_slower(monkeypatch):
    from ganedu import SMALL_MODEL, describe_device
    import ganedu.scale.cuda_graph

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Test GPU")
    monkeypatch.setattr(ganedu.scale.cuda_graph, "CAN_RECORD_GENERATORS", True)
    # CUDA that can replay steps as graphs: every network goes to the GPU
    assert get_device("auto", n_params=10) == torch.device("cuda")
    assert "each training step is replayed as a CUDA graph" in describe_device()
    # CUDA without graph recording (an older torch): small networks stay on the CPU, large ones go
    monkeypatch.setattr(ganedu.scale.cuda_graph, "CAN_RECORD_GENERATORS", False)
    assert get_device("auto", n_params=SMALL_MODEL - 1) == torch.device("cpu")
    assert get_device("auto", n_params=SMALL_MODEL) == torch.device("cuda")
    assert get_device("auto") == torch.device("cuda")  # size unknown: the GPU
    assert "toy MLPs train on the cpu" in describe_device()
    # Apple's MPS: small networks on the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device("auto", n_params=10) == torch.device("cpu")
    assert get_device("auto", n_params=SMALL_MODEL) == torch.device("mps")
    assert describe_device().startswith("device: mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert describe_device().startswith("device: cpu")


def test_trainer_resolves_auto_with_its_networks_size(monkeypatch):
    import ganedu.train
    from ganedu.models import count_parameters

    asked = {}

    def spy(device, *, n_params=None):
        asked.update(device=device, n_params=n_params)
        return torch.device("cpu")

    monkeypatch.setattr(ganedu.train, "get_device", spy)
    t = ganedu.train.Trainer.from_recipe("wgan-gp-toy", "8gaussians", device="auto")
    assert asked == dict(device="auto", n_params=count_parameters(t.generator) + count_parameters(t.critic))


def test_quick_mode(monkeypatch):
    monkeypatch.setenv("GANEDU_QUICK", "1")
    assert quick_mode()
    monkeypatch.setenv("GANEDU_QUICK", "0")
    assert not quick_mode()


def test_torch_threads_sets_and_restores():
    from ganedu import torch_threads

    old = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    with torch_threads(None):
        assert torch.get_num_threads() == old
    with pytest.raises(ValueError, match="n must be"):
        with torch_threads(0):
            pass


def test_default_threads_one_for_small_networks_on_the_cpu(monkeypatch):
    from ganedu import SMALL_MODEL, default_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    small, big = torch.nn.Linear(10, 10), torch.nn.Linear(SMALL_MODEL, 1)  # 110 and SMALL_MODEL + 1 parameters
    cpu = torch.device("cpu")
    assert default_threads(cpu, small) == 1 and default_threads(cpu, small, small) == 1
    assert default_threads(cpu, small, big) is None          # torch's own setting for the paper's sizes
    assert default_threads(torch.device("cuda"), small) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert default_threads(cpu, small) is None               # the user's setting wins

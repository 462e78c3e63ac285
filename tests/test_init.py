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

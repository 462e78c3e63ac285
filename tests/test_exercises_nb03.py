"""The notebook 03 check: the reference passes, every pitfall fails with a hint, a stub raises."""
import numpy as np
import pytest
import torch

from ganedu.lessons.exercises import check_w1_sorting
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone


def reference(x, y):
    # independent of the check's scipy reference: the sorted pairing, in numpy
    return float(np.mean(np.abs(np.sort(x.numpy()) - np.sort(y.numpy()))))


def test_reference_solution_passes(capsys):
    assert check_w1_sorting(reference) is True
    assert RESULTS["w1_sorting"] is True
    assert "Correct" in capsys.readouterr().out


def test_torch_solution_returning_a_tensor_passes():
    assert check_w1_sorting(lambda x, y: (torch.sort(x).values - torch.sort(y).values).abs().mean())


def _sort_in_place(x, y):
    x, y = x.numpy(), y.numpy()  # shares memory with the caller's tensors
    x.sort()
    y.sort()
    return float(np.mean(np.abs(x - y)))


PITFALLS = {
    "unsorted": (lambda x, y: float((x - y).abs().mean()), "order they were given"),
    "opposite orders": (lambda x, y: float((x.sort().values - y.sort(descending=True).values).abs().mean()),
                        "same order"),
    "sum": (lambda x, y: float((x.sort().values - y.sort().values).abs().sum()), "average"),
    "squared": (lambda x, y: float(((x.sort().values - y.sort().values) ** 2).mean()), "squared"),
    "w2": (lambda x, y: float(((x.sort().values - y.sort().values) ** 2).mean().sqrt()), "W2"),
    "abs of mean": (lambda x, y: float((x.sort().values - y.sort().values).mean().abs()), "cancellations"),
    "signed": (lambda x, y: float((x.sort().values - y.sort().values).mean()), "negative"),
    "one sorted": (lambda x, y: float((x.sort().values - y).abs().mean()), "only one"),
    "in place": (_sort_in_place, "in place"),
    "vector": (lambda x, y: (x.sort().values - y.sort().values).abs(), "one number"),
    "nan": (lambda x, y: float("nan"), "finite"),
}


@pytest.mark.parametrize("name", sorted(PITFALLS))
def test_pitfall_is_caught_with_a_hint(name, capsys):
    fn, hint = PITFALLS[name]
    assert check_w1_sorting(fn) is False
    out = capsys.readouterr().out
    assert "Not yet" in out and hint in out
    assert RESULTS["w1_sorting"] is False
    assert "np.sort" not in out and "torch.sort" not in out  # never reveals the solution


def test_stub_raises_exercise_not_done():
    def stub(x, y):
        raise NotImplementedError("Exercise: compute W1 by sorting")

    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check_w1_sorting(stub)

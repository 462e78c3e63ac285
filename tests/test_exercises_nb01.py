"""Tests for the notebook-01 exercise checks: the reference solution passes, every known pitfall
is caught with an explanation (that never prints the solution), the untouched stub raises
ExerciseNotDone."""
import pytest
import torch
import torch.nn.functional as F

from ganedu.lessons import exercises
from ganedu.lessons.exercises.core import RESULTS, ExerciseNotDone
from ganedu.lessons.exercises.nb01_minimax import check_d_loss, check_g_loss


# ---- solutions, written independently of the checks' references (BCE-with-logits of torch)
def d_ok(real_logits, fake_logits):
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def d_ok_softplus(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_ok(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


# ---- pitfalls
def d_naive(r, f):  # log(sigmoid): inf at extreme logits
    return -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())


def d_clamped(r, f):  # the usual "fix": finite, but wrong value and zero gradient when clamped
    eps = 1e-7
    return -(torch.log(torch.sigmoid(r).clamp(eps, 1 - eps)).mean()
             + torch.log((1 - torch.sigmoid(f)).clamp(eps, 1 - eps)).mean())


def d_bce_probs(r, f):  # BCE on probabilities: torch clamps log at -100
    return (F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
            + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)))


def d_sign(r, f):
    return -d_ok(r, f)


def d_swap(r, f):
    return d_ok(f, r) if len(r) == len(f) else d_ok_softplus(-r, -f)


def d_misplaced_log(r, f):  # -[E log D(x) + E (1 - log D(G(z)))]
    return -(F.logsigmoid(r).mean() + (1 - F.logsigmoid(f)).mean())


def d_sum(r, f):
    return F.softplus(-r).sum() + F.softplus(f).sum()


def d_concat_mean(r, f):  # one mean over both batches: wrong when sizes differ
    return torch.cat([F.softplus(-r), F.softplus(f)]).mean() * 2


def d_real_only(r, f):
    return F.softplus(-r).mean()


def d_probabilities(r, f):  # treats logits as probabilities
    return -(torch.log(r).mean() + torch.log(1 - f).mean())


def d_item(r, f):
    return torch.tensor(d_ok(r, f).item())


def d_per_sample(r, f):
    return F.softplus(-r) + F.softplus(f)


def g_saturating(f):
    return -F.softplus(f).mean()  # E log(1 - D(G(z)))


def g_sign(f):
    return F.logsigmoid(f).mean()


def g_fake_label(f):
    return F.softplus(f).mean()


def g_naive(f):
    return -torch.log(torch.sigmoid(f)).mean()


def g_clamped(f):
    return -torch.log(torch.sigmoid(f).clamp_min(1e-7)).mean()


def g_sum(f):
    return F.softplus(-f).sum()


def stub(*args):
    raise NotImplementedError("Exercise: write the loss")


def run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def test_reference_solutions_pass(capsys):
    for fn in (d_ok, d_ok_softplus):
        ok, out = run(check_d_loss, fn, capsys)
        assert ok is True and "Correct" in out, out
    ok, out = run(check_g_loss, g_ok, capsys)
    assert ok is True and "Correct" in out, out
    assert RESULTS["d_loss"] is True and RESULTS["g_loss"] is True


def test_checks_are_reachable_from_the_package():
    assert exercises.check_d_loss is check_d_loss
    assert exercises.check_g_loss is check_g_loss


@pytest.mark.parametrize("fn, words", [
    (d_naive, "sigmoid"), (d_clamped, "extreme"), (d_bce_probs, "extreme"),
    (d_sign, "sign is flipped"), (d_swap, "swapped"), (d_misplaced_log, "misplaces the log"),
    (d_sum, "mean"), (d_concat_mean, "differ in size"), (d_real_only, "generated-data term"),
    (d_probabilities, "logits"), (d_item, "no gradient"), (d_per_sample, "one number"),
])
def test_d_loss_pitfalls_are_caught(fn, words, capsys):
    ok, out = run(check_d_loss, fn, capsys)
    assert ok is False, out
    assert "Not yet" in out and words in out, out
    assert RESULTS["d_loss"] is False
    assert "softplus(-" not in out and "logsigmoid(r" not in out  # never prints the solution


@pytest.mark.parametrize("fn, words", [
    (g_saturating, "saturating"), (g_sign, "sign is flipped"), (g_fake_label, "more* fake"),
    (g_naive, "extreme"), (g_clamped, "extreme"), (g_sum, "mean"),
])
def test_g_loss_pitfalls_are_caught(fn, words, capsys):
    ok, out = run(check_g_loss, fn, capsys)
    assert ok is False, out
    assert "Not yet" in out and words in out, out
    assert RESULTS["g_loss"] is False


def test_naive_log_sigmoid_really_is_unstable():
    """The pitfall the check guards against exists in float32 (so the check can fail for real)."""
    assert not torch.isfinite(d_naive(torch.full((4,), -120.0), torch.full((4,), 120.0)))
    assert not torch.isfinite(g_naive(torch.full((4,), -120.0)))


@pytest.mark.parametrize("check", [check_d_loss, check_g_loss])
def test_stub_raises_exercise_not_done(check):
    with pytest.raises(ExerciseNotDone, match="not done yet"):
        check(stub)


def test_not_callable_is_explained(capsys):
    ok, out = run(check_d_loss, "d_loss", capsys)
    assert ok is False and "expected your function" in out, out

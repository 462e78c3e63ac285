"""ganedu.lessons.controllable: ink mass, the classifier-gradient step on z, the label path."""
import pytest
import torch
from torch import nn

from ganedu.lessons.controllable import classifier_step, ink_mass, label_path, steer, steering_report


def _nets(seed=0, z_dim=5, K=4):
    torch.manual_seed(seed)
    generator = nn.Sequential(nn.Linear(z_dim, 16), nn.Tanh(), nn.Linear(16, 9), nn.Tanh(), nn.Unflatten(1, (1, 3, 3)))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(9, 16), nn.Tanh(), nn.Linear(16, K))
    return generator, classifier


def test_ink_mass_is_the_fraction_of_ink():
    images = -torch.ones(2, 1, 4, 4)
    images[0, 0, :2] = 1.0                                           # half the pixels fully inked
    images[1] = 0.0                                                  # every pixel half grey
    torch.testing.assert_close(ink_mass(images), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="4 dims"):
        ink_mass(torch.zeros(2, 16))


@pytest.mark.parametrize("beta", [0.0, 3.0])
def test_classifier_step_equals_a_per_sample_gradient(beta):
    generator, classifier = _nets()
    z, target = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 0, 1])
    ink0 = ink_mass(generator(z)).detach() + 0.05
    got = classifier_step(z, generator, classifier, target, 0.2, beta=beta, ink_start=ink0)
    for i in range(6):
        zi = z[i:i + 1].clone().requires_grad_(True)
        x = generator(zi)
        objective = torch.log_softmax(classifier(x), 1)[0, target[i]] - beta * (ink_mass(x)[0] - ink0[i]) ** 2
        (g,) = torch.autograd.grad(objective, zi)
        torch.testing.assert_close(got[i], (zi + 0.2 * g)[0].detach())


def test_steering_raises_the_target_probability_and_the_regulariser_keeps_ink():
    generator, classifier = _nets(1)
    with torch.no_grad():                                            # a classifier with confident opinions
        classifier[-1].weight.mul_(10)
    z0, target = torch.randn(64, 5), torch.arange(64) % 4
    log_p = lambda z: torch.log_softmax(classifier(generator(z)), 1).gather(1, target[:, None]).mean()
    free = steer(generator, classifier, z0, target, steps=20, alpha=0.5)
    kept = steer(generator, classifier, z0, target, steps=20, alpha=0.5, beta=50.0)
    assert log_p(free) > log_p(z0) + 0.1
    r_free, r_kept = (steering_report(generator, classifier, z0, z, target, 4) for z in (free, kept))
    assert r_kept["ink_change"] < r_free["ink_change"]
    assert r_free["moved"] > 0 and len(r_free["success"]) == 4
    assert torch.equal(steer(generator, classifier, z0, target, steps=0), z0)


def test_label_path_runs_from_one_class_to_the_other():
    path = label_path(2, 7, 10, 5)
    assert path.shape == (5, 10)
    torch.testing.assert_close(path[0], torch.eye(10)[2])
    torch.testing.assert_close(path[-1], torch.eye(10)[7])
    torch.testing.assert_close(path.sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="b must be"):
        label_path(2, 10, 10, 5)

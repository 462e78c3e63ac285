"""ganedu.plot: each function returns a Figure with the expected artists and labels, renders to
PNG, draws from the data it is given (checked against the inputs), and validates its input."""
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

from ganedu import plot as P

PNG = b"\x89PNG\r\n\x1a\n"


def _critic(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1),
                               torch.nn.Flatten(0))


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_colours_are_okabe_ito_and_distinct():
    assert P.REAL_COLOR.upper() == "#0072B2" and P.FAKE_COLOR.upper() == "#D55E00"


def test_plot_samples_draws_both_sets_with_the_course_colours():
    real, fake = torch.randn(50, 2), torch.randn(30, 2) + 3
    fig = P.plot_samples(real, fake, title="the point", lim=5)
    assert isinstance(fig, Figure) and not hasattr(fig, "number")  # not a pyplot figure
    ax = fig.axes[0]
    real_sc, fake_sc = _scatters(ax)
    np.testing.assert_allclose(real_sc.get_offsets(), real.numpy())
    np.testing.assert_allclose(fake_sc.get_offsets(), fake.numpy())
    np.testing.assert_allclose(real_sc.get_facecolor()[0][:3], matplotlib.colors.to_rgb(P.REAL_COLOR))
    np.testing.assert_allclose(fake_sc.get_facecolor()[0][:3], matplotlib.colors.to_rgb(P.FAKE_COLOR))
    assert ax.get_title() == "the point" and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_xlim() == (-5.0, 5.0) and ax.get_ylim() == (-5.0, 5.0)
    assert P.fig_to_png(fig).startswith(PNG)


def test_plot_samples_density_and_given_axes():
    fig = P.new_figure()
    ax = fig.add_subplot(1, 1, 1)
    out = P.plot_samples(np.random.randn(500, 2), None, ax=ax, density=True, lim=(-3, 3))
    assert out is fig and len(ax.images) == 1 and ax.images[0].get_extent() == [-3, 3, -3, 3]


@pytest.mark.parametrize("bad, err", [(torch.randn(5, 3), ValueError), (torch.randn(5), ValueError),
                                      ("points", TypeError)])
def test_plot_samples_validates_points(bad, err):
    with pytest.raises(err, match="real"):
        P.plot_samples(bad, torch.randn(4, 2))


def test_plot_samples_validates_lim_and_needs_points():
    with pytest.raises(ValueError, match="lim"):
        P.plot_samples(torch.randn(4, 2), None, lim=-1)
    with pytest.raises(ValueError, match="lim"):
        P.plot_samples(torch.randn(4, 2), None, lim=(2, 1))
    with pytest.raises(ValueError, match="real or fake"):
        P.plot_samples(None, None)


def test_critic_surface_values_and_gradients_match_the_critic():
    critic = _critic()
    data = P.critic_surface_data(critic, lim=2, resolution=7, arrows=3)
    xs = torch.linspace(-2, 2, 7)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        expected = critic(grid).reshape(7, 7)
    torch.testing.assert_close(torch.from_numpy(data["values"]), expected)
    pts = torch.from_numpy(np.stack([data["gx"], data["gy"]], 1)).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(pts).sum(), pts)
    torch.testing.assert_close(torch.from_numpy(np.stack([data["gu"], data["gv"]], 1)), grad)
    prob = P.critic_surface_data(critic, lim=2, resolution=7, gradient_field=False, prob=True)
    torch.testing.assert_close(torch.from_numpy(prob["values"]), torch.sigmoid(expected))
    assert prob["gu"].size == 0


def test_critic_surface_keeps_the_critic_mode_and_parameters():
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1),
                                 torch.nn.Flatten(0))
    before = {k: v.clone() for k, v in critic.state_dict().items()}
    P.plot_critic_surface(critic, resolution=10)
    assert critic.training
    for k, v in critic.state_dict().items():  # BatchNorm statistics untouched
        torch.testing.assert_close(v, before[k])
    assert all(p.grad is None for p in critic.parameters())


def test_plot_critic_surface_artists():
    fig = P.plot_critic_surface(_critic(), torch.randn(20, 2), torch.randn(10, 2), lim=2,
                                resolution=20, title="why")
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the colour bar
    assert any(isinstance(c, Quiver) for c in ax.collections)
    assert len(_scatters(ax)) == 2 and ax.get_title() == "why"
    assert ax.get_xlabel() and ax.get_ylabel()
    fig = P.plot_critic_surface(_critic(), lim=2, resolution=20, gradient_field=False, prob=True,
                                colorbar=False)
    assert len(fig.axes) == 1 and not any(isinstance(c, Quiver) for c in fig.axes[0].collections)
    assert "probability" in fig.axes[0].get_title()
    assert P.fig_to_png(fig).startswith(PNG)


def test_plot_critic_surface_validates():
    with pytest.raises(TypeError, match="critic"):
        P.plot_critic_surface(lambda x: x)
    with pytest.raises(ValueError, match="resolution"):
        P.plot_critic_surface(_critic(), resolution=1)
    bad = torch.nn.Linear(2, 3)  # returns (B, 3), not scores (B,)
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        P.plot_critic_surface(bad, resolution=5)


def test_plot_curves_lines_events_and_exact_w1():
    history = {"step": [1, 2, 3, 4], "d_loss": [1.0, 0.5, 0.2, 0.1], "g_loss": [0.0, 0.1, 0.2, 0.3],
               "w_estimate": [0.3, torch.tensor(0.2), None, 0.1],
               "events": [{"step": 2, "name": "gp_lambda", "value": 1.0}, (3, {"clip": 0.05})]}
    fig = P.plot_curves(history, exact_w1=([1, 4], [0.9, 0.4]))
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"critic loss", "generator loss", "W estimate (critic)", "exact W₁"} <= set(labels)
    w = ax.get_lines()[labels.index("W estimate (critic)")]
    np.testing.assert_allclose(w.get_ydata(), [0.3, 0.2, np.nan, 0.1])
    vlines = [line for line in ax.get_lines() if line.get_xdata()[0] == line.get_xdata()[-1]
              and line.get_label().startswith("_")]
    assert sorted(float(v.get_xdata()[0]) for v in vlines) == [2.0, 3.0]
    texts = [t.get_text().strip() for t in ax.texts]
    assert texts == ["gp_lambda=1", "clip=0.05"]
    assert ax.get_xlabel() == "generator step" and ax.get_ylabel()
    fig = P.plot_curves(history, exact_w1=0.5)
    assert any(line.get_label() == "exact W₁" for line in fig.axes[0].get_lines())


def test_plot_curves_validates():
    with pytest.raises(TypeError, match="history"):
        P.plot_curves([1, 2])
    with pytest.raises(ValueError, match="exact_w1"):
        P.plot_curves({"step": []}, exact_w1=([1, 2], [0.5]))
    with pytest.raises(TypeError, match="exact_w1"):
        P.plot_curves({"step": []}, exact_w1="big")


def test_plot_weight_histogram_counts_weights_at_the_clip_bound():
    layer = torch.nn.Linear(10, 10)
    with torch.no_grad():
        layer.weight.fill_(0.01)
        layer.bias.zero_()
    fig = P.plot_weight_histogram(layer, clip=0.01)
    ax = fig.axes[0]
    (outline,) = ax.patches  # one filled step polygon
    assert outline.get_xy()[:, 1].max() == 100  # the 100 weights at c share the last bin
    assert "91%" in ax.get_title()  # 100 of 110 at the bound
    assert sorted(float(line.get_xdata()[0]) for line in ax.get_lines()) == [-0.01, 0.01]
    with pytest.raises(ValueError, match="clip"):
        P.plot_weight_histogram(layer, clip=-1)
    with pytest.raises(TypeError, match="module"):
        P.plot_weight_histogram(torch.zeros(3))


def test_plot_grad_norms_histogram_and_line_at_one():
    norms = torch.tensor([0.5, 1.0, 1.5, 1.0])
    fig = P.plot_grad_norms(norms)
    ax = fig.axes[0]
    (outline,) = ax.patches
    assert outline.get_xy()[:, 1].max() == 2  # two norms equal to 1.0
    assert float(ax.get_lines()[0].get_xdata()[0]) == 1.0
    assert "mean 1.00" in ax.get_title() and ax.get_xlabel()
    with pytest.raises(ValueError, match="norms"):
        P.plot_grad_norms(torch.zeros(0))


def test_plot_sigmas_one_bar_per_layer():
    fig = P.plot_sigmas({"net.0.weight": 1.0, "net.2.weight": 2.5})
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [1.0, 2.5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["net.0", "net.2"]
    assert float(ax.get_lines()[0].get_ydata()[0]) == 1.0 and "max 2.50" in ax.get_title()
    with pytest.raises(ValueError, match="sigmas"):
        P.plot_sigmas({})


def test_plot_image_grid_maps_minus_one_one_to_the_grey_range():
    images = torch.full((3, 1, 4, 4), -1.0)
    images[1] = 1.0
    fig = P.plot_image_grid(images, nrow=2, title="digits")
    grid = fig.axes[0].images[0].get_array()
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1)
    assert grid[1:5, 1:5].max() == 0.0 and grid[1:5, 6:10].min() == 1.0  # black, white
    assert fig.axes[0].get_title() == "digits"
    rgb = P.plot_image_grid(torch.zeros(2, 3, 4, 4))
    assert rgb.axes[0].images[0].get_array().shape[-1] == 3
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        P.plot_image_grid(torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="nrow"):
        P.plot_image_grid(torch.zeros(2, 1, 4, 4), nrow=0)


def test_fig_to_png_is_a_png_of_the_figure_size():
    fig = P.new_figure(figsize=(2, 1), dpi=50)
    png = P.fig_to_png(fig)
    assert png.startswith(PNG)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (100, 50)
    with pytest.raises(TypeError, match="Figure"):
        P.fig_to_png("figure")


def test_figures_can_be_drawn_from_threads():
    import concurrent.futures

    def draw(seed):
        return P.fig_to_png(P.plot_samples(torch.randn(100, 2), torch.randn(100, 2), lim=3))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert all(p.startswith(PNG) for p in pool.map(draw, range(8)))


@pytest.mark.parametrize("recipe", ["wgan-gp-toy", "wgan-toy", "sngan-toy", "nsgan-toy"])
def test_plot_trainer_panels_follow_the_constraint(recipe):
    from ganedu.train import Trainer

    tr = Trainer.from_recipe(recipe, "8gaussians", device="cpu", width=16, batch_size=32)
    tr.train(3, progress=False)
    fig = P.plot_trainer(tr, n=64)
    assert len(fig.axes) == 4 and "step 3" in fig._suptitle.get_text()
    diag = fig.axes[3].get_title()
    expected = {"wgan-gp-toy": "Gradient norms", "nsgan-toy": "Gradient norms",
                "wgan-toy": "clip bound", "sngan-toy": "Per-layer σ"}[recipe]
    assert expected in diag
    assert tr.steps == 3 and tr.critic.training  # drawing did not train or switch modes
    assert P.fig_to_png(fig).startswith(PNG)


def _event_lines_and_labels(ax):
    vlines = [line for line in ax.get_lines() if line.get_xdata()[0] == line.get_xdata()[-1]
              and line.get_label().startswith("_")]
    return sorted(float(v.get_xdata()[0]) for v in vlines), [t.get_text().strip() for t in ax.texts]


def test_plot_curves_draws_a_burst_of_changes_to_one_setting_once():
    steps = list(range(1, 1001))
    burst = [{"step": 500 + 2 * i, "name": "gp_lambda", "value": float(i + 1)} for i in range(20)]
    history = {"step": steps, "d_loss": [0.0] * 1000,
               "events": [*burst[:10], {"step": 510, "name": "one_sided", "value": True}, *burst[10:],
                          {"step": 900, "name": "gp_lambda", "value": 0.5},   # later: a change of its own
                          {"step": 900, "name": "n_critic", "value": 2}]}      # same step: one line
    lines, labels = _event_lines_and_labels(P.plot_curves(history).axes[0])
    assert lines == [510.0, 538.0, 900.0]
    assert labels == ["one_sided=True", "gp_lambda=20 (×20)", "gp_lambda=0.5, n_critic=2"]
    short = {"step": steps[:60], "d_loss": [0.0] * 60,  # on 60 steps, changes 2 steps apart are 3% apart
             "events": [{**e, "step": e["step"] - 490} for e in burst]}
    lines, labels = _event_lines_and_labels(P.plot_curves(short).axes[0])
    assert lines == [10.0 + 2 * i for i in range(20)] and labels == [f"gp_lambda={i + 1}" for i in range(20)]


@pytest.mark.parametrize("first, second", [("wgan-gp-toy", "wgan-gp-toy"), ("wgan-toy", "wgan-toy"),
                                           ("sngan-toy", "sngan-toy"), ("wgan-gp-toy", "wgan-toy"),
                                           ("wgan-toy", "sngan-toy")])
def test_plot_trainer_redrawn_into_its_figure_looks_as_drawn_afresh(first, second):
    """The live view draws into the Figure (and Axes) of its last redraw: the pixels must be those
    of a new Figure, whatever was on it before (other data, limits, legend, another constraint)."""
    from ganedu.train import Trainer

    def draw(tr, fig=None):
        torch.manual_seed(0)  # the diagnostic's ε
        fig = P.plot_trainer(tr, n=64, fig=fig)
        fig.canvas.draw()
        return fig, np.asarray(fig.canvas.buffer_rgba()).copy()

    before = Trainer.from_recipe(first, "8gaussians", device="cpu", width=16, batch_size=32, seed=1)
    before.train(7, progress=False)
    before.set(gp_lambda=3.0) if before.recipe.gp_lambda else None  # an event line and its label
    before.train(2, progress=False)
    fig, _ = draw(before)
    after = Trainer.from_recipe(second, "25gaussians", device="cpu", width=16, batch_size=32, seed=2)
    after.train(3, progress=False)
    axes = list(fig.axes)
    fig, reused = draw(after, fig)
    assert (list(fig.axes) == axes) == (first == second)  # the same panels keep their Axes
    _, fresh = draw(after)
    assert reused.shape == fresh.shape
    differ = np.any(reused != fresh, axis=-1)
    assert differ.mean() == 0.0, f"{differ.mean():.2%} of the pixels differ from a new Figure"


def test_class_accuracy_bars_are_the_fractions_given_and_bad_input_is_named():
    from ganedu.plot import plot_class_accuracy

    fig = plot_class_accuracy([0.5, 1.0, 0.25], target=0.95)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.5, 1.0, 0.25]
    assert [line.get_ydata()[0] for line in ax.lines] == [0.95] and "worst 25%" in ax.get_title()
    with pytest.raises(ValueError, match="accuracy must be a non-empty list"):
        plot_class_accuracy([])


def test_samples_coloured_by_class_need_one_class_per_sample():
    from ganedu.plot import plot_samples

    fake, classes = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    fig = plot_samples(None, fake, classes=classes)
    drawn = fig.axes[0].collections[-1]
    assert drawn.get_array().tolist() == classes.tolist()  # the colour of each point is its class
    with pytest.raises(ValueError, match="classes must hold one class per fake sample, got 6 samples and 2 classes"):
        plot_samples(None, fake, classes=torch.tensor([0, 1]))

"""A live training dashboard: change λ, the clip value, n_critic or a learning rate while the
GAN trains, and watch the critic and the samples respond.

``TrainingDashboard`` (``dashboard.py``) puts together parts with one job each:

- ``controls.py``: the settings widgets and the one path from them to ``Trainer.set``; what a
  value may be is the Recipe's to say, and a refusal shows the Recipe's own message;
- ``clock.py``: the one play control and the front end's ``Play`` ticks; each tick trains one
  chunk of steps on the main thread (its docstring says why there is no thread);
- ``branch.py``: branch and compare, a twin of the run that keeps its settings, drawn beside it;
- ``presets.py``: one-click experiments, a button each (a new run with a few settings changed);
- ``view.py``: what it shows: the figure as a PNG, the step counter, the progress line with the
  live scores (``score_live``: modes, HQ, exact W₁), the status message;
- the figure is ``ganedu.plot.plot_trainer``, all of it: change the dashboard's drawing there.

Only this package imports ipywidgets.
"""
from .clock import IPYWIDGETS_7
from .dashboard import TrainingDashboard

__all__ = ["TrainingDashboard", "IPYWIDGETS_7"]

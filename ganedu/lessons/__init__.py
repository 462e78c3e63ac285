"""The lessons: what the notebooks use beyond the GAN code itself.

- ``minimax_1d``    the 1-D minimax game of notebook 01 (densities on a grid, D*, V(D, G), JS)
- ``fixed_critic``  critics trained against fixed samples (notebooks 03, 04, 05): estimates of W1
- ``showdown``      notebook 07's comparison of recipes on the same data, seeds and budget
- ``records``       results recorded once by ``make record`` and read by the notebooks
- ``ten_trials``    notebook 07's record: every toy recipe x 10 seeds on the ring and the grid
- ``exercises``     the exercise checks: ``exercises.check_<name>(...)``

The dashboard (``ganedu.widgets``) and the figures (``ganedu.plot``) serve the lessons too; they
keep the top-level names the course has always used.
"""

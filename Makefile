# ganedu: the two commands of the README.
#   make lab   set up .venv (once) and open the course in JupyterLab
#   make test  set up .venv (once) and run every test, notebooks included (quick mode)
# Both are idempotent: the environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Pinned here for a fast, repeatable install (the package itself only asks for ranges).
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.ganedu-installed
PYTEST_ARGS ?=
NOTEBOOK_ARGS ?=

.PHONY: setup lab test test-unit test-notebooks slides student bench clean help

help:
	@echo "make lab    - set up and open the course in JupyterLab"
	@echo "make test   - set up and run all tests (unit, widgets, browser, notebooks; training outcomes on two kernel sets)"
	@echo "make student / make slides / make bench - student versions, offline decks, benchmarks"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

# --allow-root only where you are root (a container, a VM): JupyterLab refuses root otherwise.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
# The course's JupyterLab settings (jupyterlab/overrides.json: the slideshow keeps the prompt column,
# so no overlay covers the dashboard's Train button) go where JupyterLab reads them for this env.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): jupyterlab/overrides.json | $(STAMP)
	mkdir -p $(dir $@) && cp jupyterlab/overrides.json $@

# nbgrader (in the dev extra, for instructors who grade with it) adds menus, a toolbar button and a sidebar
# that students do not need: the course's lab starts with them off. An instructor turns them on with
#   .venv/bin/jupyter labextension enable @jupyter/nbgrader
# (its command line, `nbgrader generate_assignment` / `autograde`, works either way).
NBGRADER_UI_OFF := $(VENV)/.nbgrader-ui-off
$(NBGRADER_UI_OFF): | $(STAMP)
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader
	@touch $@

lab: setup $(LAB_OVERRIDES) $(NBGRADER_UI_OFF)
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

# Two pytest workers on one thread each (a 2-core laptop or CI box); nbval keeps each notebook's
# cells on one worker (--dist loadscope); then the training-outcome tests again on PyTorch's portable
# CPU kernels (mk/kernels.mk, one test at a time per worker) and the widget tests again under
# ipywidgets 7.7.1.
TEST_WORKERS ?= 2
test: setup
	GANEDU_QUICK=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PY) -m pytest tests notebooks --nbval-lax \
		-n $(TEST_WORKERS) --dist loadscope -p no:cacheprovider --durations=15 $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-kernels
	$(MAKE) --no-print-directory test-widgets7

clean:
	rm -rf $(VENV) build *.egg-info test-output slides student

-include mk/*.mk

# Widget tests under ipywidgets 7.7.1 (Colab's) next to .venv's ipywidgets 8, without a second
# torch: only the widget packages go into $(VENV)/w7 (--no-deps, ~9 MB, ~1 s), which is put first
# on PYTHONPATH for .venv's python. The run checks that 7.7.1 is the version imported.
W7_DIR := $(VENV)/w7
W7_STAMP := $(W7_DIR)/.ganedu-w7-installed
W7_PKGS := ipywidgets==7.7.1 widgetsnbextension==3.6.1 jupyterlab_widgets==1.1.1 ipython_genutils==0.2.0

.PHONY: test-widgets7

$(W7_STAMP): mk/widgets.mk | $(STAMP)
	rm -rf $(W7_DIR)
	$(PY) -m pip install --quiet --no-deps --target $(W7_DIR) $(W7_PKGS)
	@touch $@

test-widgets7: $(W7_STAMP)
	PYTHONPATH=$(W7_DIR) $(PY) -c "import ipywidgets as w; assert w.__version__ == '7.7.1', w.__version__; print('ipywidgets', w.__version__, 'from', w.__file__)"
	GANEDU_EXPECT_IPYWIDGETS=7.7.1 PYTHONPATH=$(W7_DIR) MPLBACKEND=Agg $(PY) -m pytest tests/test_widgets.py -q -p no:cacheprovider -W ignore::DeprecationWarning $(PYTEST_ARGS)

# The training-outcome tests (marker `training_outcome`) once more on PyTorch's portable CPU kernels.
# Float rounding differs between kernel sets (ATEN_CPU_CAPABILITY = default, avx2, avx512) and a GAN's
# trajectory is chaotic, so a test that passes on this machine's kernels by luck fails here, in CI,
# rather than on a student's machine. `make test` calls it; KERNELS="default avx2" runs several.
KERNELS ?= default

.PHONY: test-kernels

test-kernels: setup
	@for k in $(KERNELS); do \
		echo "training-outcome tests under ATEN_CPU_CAPABILITY=$$k"; \
		ATEN_CPU_CAPABILITY=$$k GANEDU_QUICK=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PY) -m pytest tests -m training_outcome \
			-n $(TEST_WORKERS) -p no:cacheprovider --durations=10 $(PYTEST_ARGS) || exit 1; \
	done

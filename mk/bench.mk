# make bench         run every benchmark (about 30-60 min on a 2-core CPU) and regenerate benchmarks/RESULTS.md
# make bench-quick   one seed, smaller caps, quick-mode notebooks only (a few minutes)
BENCH_ARGS ?=

.PHONY: bench bench-quick

bench: setup
	MPLBACKEND=Agg $(PY) -m benchmarks $(BENCH_ARGS)

bench-quick: setup
	MPLBACKEND=Agg $(PY) -m benchmarks --quick $(BENCH_ARGS)

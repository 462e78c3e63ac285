# Recorded results (included by the Makefile):
#   make record   train the notebooks' recorded grids (python -m ganedu.lessons.records) and rewrite
#                 ganedu/lessons/recorded/*.json; the 05 λ grid took 42 min, the 05 toy sets 14 min, the 02 DCGAN
#                 runs 23 min (286 s of CPU), the 05 one-sided runs 2 min, the 09 cures 2 min, on one thread of
#                 a shared 2-core CPU.
# RECORDS="05_lambda_grid" picks some (07_ten_trials is GPU-sized: on a CPU it runs only when named;
# RECORD_ARGS="--device cuda" makes every record on a GPU); RECORD_ARGS="--tiny --out /tmp/rec" checks the code path in seconds.
RECORDS ?=
RECORD_ARGS ?=

.PHONY: record

record: setup
	OMP_NUM_THREADS=1 MPLBACKEND=Agg $(PY) -m ganedu.lessons.records $(RECORDS) $(RECORD_ARGS)

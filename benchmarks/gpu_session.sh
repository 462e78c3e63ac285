#!/usr/bin/env bash
# Every GPU measurement and the CUDA tests in one run (the GPU machine is lent for minutes and has
# no network). Usage, from the repository root on a machine with CUDA and torch installed:
#   OUT=/some/folder bash benchmarks/gpu_session.sh [parts...]   parts: tests bench cli population literature profile
# Each part has its own time limit and log under $OUT; a part that fails does not stop the others.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg GANEDU_OFFLINE=1
PY=${PY:-python3}
parts=${*:-tests bench cli population literature}
{ date; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; $PY -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"; nproc; } >"$OUT/machine.txt" 2>&1
for part in $parts; do
  start=$(date +%s)
  case $part in
    tests) timeout 300 $PY -m pytest tests/test_cuda.py tests/test_population.py -k "cuda or graph" -q -p no:cacheprovider -rs \
             --durations=5 >"$OUT/tests.log" 2>&1 ;;
    bench) timeout 420 $PY -m benchmarks --only gpu --out "$OUT/bench" >"$OUT/bench.log" 2>&1 ;;
    profile) timeout 240 $PY -m benchmarks.profile_population >"$OUT/profile.log" 2>&1 ;;
    population) timeout 240 $PY -m benchmarks --only population --out "$OUT/bench" >"$OUT/population.log" 2>&1 ;;
    literature) timeout 240 $PY -m benchmarks --only literature --out "$OUT/bench" >"$OUT/literature.log" 2>&1 ;;
    cli) ( cd /tmp && rm -rf cli300 && /usr/bin/time -v timeout 180 $PY -m ganedu train dcgan --data digits --image-size 32 \
             --steps 300 --device cuda --out /tmp/cli300 --no-progress ) >"$OUT/cli.log" 2>&1
         cp /tmp/cli300/metrics.json "$OUT/cli_metrics.json" 2>/dev/null
         ( cd /tmp && $PY -X importtime -c "import ganedu.__main__, ganedu.train, ganedu.plot, ganedu.metrics" ) 2>&1 \
           | sort -t'|' -k2 -n -r | head -25 >>"$OUT/cli.log" ;;
  esac
  echo "$part: done in $(( $(date +%s) - start )) s" | tee -a "$OUT/machine.txt"
done

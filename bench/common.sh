# Sourced by the bench/ scripts: running dgm as two processes, and reading
# a run's training rate.

bench_port=$((20000 + RANDOM % 20000))

# Runs build/dgm "$@" as 2 processes on 127.0.0.1 with the variables torchrun
# sets (OMP_NUM_THREADS=1 each, as torchrun sets it; OpenBLAS reads it too);
# rank 0's stdout is printed.
two_processes() {
  bench_port=$((bench_port + 1))
  RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$bench_port OMP_NUM_THREADS=1 \
    build/dgm "$@" > /dev/null &
  local other=$!
  RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$bench_port OMP_NUM_THREADS=1 build/dgm "$@"
  wait "$other"
}

# The best epoch's training images/s of run directory $1 (the first epoch
# includes warm-up).
best_training_rate() {
  /usr/bin/python3 -c "
import json, sys
print(max(json.loads(l)['images_per_s'] for l in open(sys.argv[1]) if 'images_per_s' in l))" "$1/metrics.jsonl"
}

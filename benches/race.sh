#!/usr/bin/env bash
# The race: `apmdm bench train` (cpu backend) against benches/torch_train_step.py on the same model
# (4 layers x 2 heads x width 128, vocab 34, seq 324, batch 32), 2 threads each, alternating
# ROUNDS times so that background load hits both alike. Prints every run's median ms per step.
# Usage: PYTHON=/path/to/python-with-torch bash benches/race.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${PYTHON:-python3}
cargo build --release --quiet
for i in $(seq "$rounds"); do
  ours=$(RAYON_NUM_THREADS=2 ./target/release/apmdm bench train --steps 5 --json)
  # PyTorch twice: OpenMP's default (spinning) wait, and passive waiting, which is much faster
  # whenever another process holds a core; the better of the two is torch's time.
  spin=$("$python" benches/torch_train_step.py --threads 2 --steps 5 2>/dev/null)
  passive=$(OMP_WAIT_POLICY=PASSIVE "$python" benches/torch_train_step.py --threads 2 --steps 5 2>/dev/null)
  "$python" - "$ours" "$spin" "$passive" <<'PY'
import json, sys
a, s, p = (json.loads(x) for x in sys.argv[1:4])
best = min(s["ms_per_step"], p["ms_per_step"])
print(f"apmdm {a['ms_per_step']:.0f} ms  torch {best:.0f} ms (spin {s['ms_per_step']:.0f}, "
      f"passive {p['ms_per_step']:.0f})  torch/apmdm {best / a['ms_per_step']:.2f}  "
      f"(parameters {a['parameters']} vs {s['parameters']})")
PY
done

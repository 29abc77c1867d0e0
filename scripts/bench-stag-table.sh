#!/usr/bin/env bash
# The STag table's numbers (issue 3): simulated cycles per second of the
# full random bench at each parameter set, then LUT / FF / block RAM / Fmax
# on iCE40 HX8K at 256 own + 16 foreign entries for lookup latencies 2 and
# 3 (the default), over place-and-route seeds 1-3. Prints Markdown tables;
# synth/REPORT.md keeps the last run with this command line.
#   scripts/bench-stag-table.sh            (STAG_BENCH_CYCLES=2000000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## Simulation speed (cargo bench -p testbench --bench stag_table)"
echo
cargo bench --quiet -p testbench --bench stag_table 2>/dev/null
echo
echo "## iCE40 HX8K, 256 own + 16 foreign entries (stag-handoff synth --top stag_table)"
echo
header=--header
for latency in 3 2; do
    for seed in 1 2 3; do
        cargo run --quiet --release -- synth --top stag_table --entries 256 --foreign-entries 16 \
            --lookup-latency "$latency" --seed "$seed" $header 2>/dev/null | sed "s/| ice40-hx8k |/| ice40-hx8k seed $seed |/"
        header=
    done
done

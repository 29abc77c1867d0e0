#!/usr/bin/env bash
# LUT, FF, block RAM and Fmax of one generated module (see synth/README.md):
#   scripts/synth.sh --top axis_fifo [--target ice40-hx8k] [--freq 100] [--fifo-depth 64 ...]
# Runs from the repository root, so results land in build/synth/.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -- synth "$@"

#!/usr/bin/env bash
# The whole test suite: installs the system tools the tests need when they
# are missing (apt-get as root; otherwise says what to install), then runs
# every test of the workspace. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package
declare -A PKG=(
    [verilator]=verilator
    [yosys]=yosys
    [nextpnr-ice40]=nextpnr-ice40
    [icepack]=fpga-icestorm
    [iverilog]=iverilog
    [tshark]=tshark
    [g++]=g++
    [make]=make
    [jq]=jq
)
missing=()
for tool in "${!PKG[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${PKG[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "scripts/test.sh: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "scripts/test.sh: missing tools; install them with:" >&2
        echo "    sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
if ! command -v cargo >/dev/null; then
    echo "scripts/test.sh: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
fi

verilator --version
cargo test --workspace "$@"

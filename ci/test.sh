#!/usr/bin/env bash
# THE test command (README, "Two commands"): bash ci/test.sh
# CI runs it through .ci/run. Steps:
#   1. ci/install-deps.sh (apt packages, aarch64 target, rustfmt, clippy; no-op when present)
#   2. cargo fmt --check        3. cargo clippy -D warnings     4. cargo test (incl. tests/)
#   5. the image recipes against the real tools: Buildroot (ci/check-buildroot.sh) and
#      bitbake with oe-core (ci/check-yocto.sh)
#   6. arm64 sysroot (libnftnl, libmnl)    7. cargo build --release for aarch64
#   8. the qemu image from that build (image-build/qemu/build.sh)
#   9. the whole box booted under qemu-system-aarch64 (tests/image)
#  10. cargo test --release for aarch64 (the library crates' unit tests under
#      qemu-aarch64-static; the same release build as the image)
#  11. fuzz smoke: build the fuzz targets (stable), run each 20 s (fuzz/README.md)
# Under CI (CI set and non-empty): no colours, no incremental compilation, line tables only
# as debug info, and each step is killed after CI_STEP_TIMEOUT (default 30m) so that a hang
# names its step. CI machines can be short of disk (a run once died of ENOSPC in the aarch64
# build), so under CI each build tree is removed once no later step needs it, and every step
# reports the free space it left.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

STEP_TIMEOUT=""
if [[ -n ${CI:-} ]]; then
    export CARGO_TERM_COLOR=never
    export CARGO_INCREMENTAL=0
    export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
    # Full debug info is most of a debug build's size; line tables keep file:line in
    # backtraces.
    export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
    STEP_TIMEOUT=${CI_STEP_TIMEOUT:-30m}
fi

AARCH64=aarch64-unknown-linux-gnu
TOTAL_STEPS=11
step_no=0
current=""
passed=()
t_start=$SECONDS
tmp_env=$(mktemp "${TMPDIR:-/tmp}/mamori-ci-env.XXXXXX")

# free_space: what is left on the file system of the build tree, e.g. "5.2G free".
free_space() {
    df -h --output=avail "$ROOT" 2>/dev/null | awk 'NR == 2 { print $1 " free" }'
}

# prune DIR: under CI, remove a build tree no later step needs (a developer's stays).
prune() {
    [[ -n ${CI:-} ]] || return 0
    printf 'pruning %s (%s)\n' "$1" "$(du -sh "$1" 2>/dev/null | cut -f1)"
    rm -rf "$1"
}

summary() {
    local out="" s
    for s in "${passed[@]}"; do out+="${out:+, }$s"; done
    printf '%s\n' "${out:-none}"
}

on_exit() {
    local rc=$?
    rm -f "$tmp_env"
    if ((rc != 0)); then
        printf '\n==== CI FAILED: step %d/%d "%s" (exit %d) after %ds total; passed: %s ====\n' \
            "$step_no" "$TOTAL_STEPS" "$current" "$rc" "$((SECONDS - t_start))" \
            "$(summary)"
    fi
}
trap on_exit EXIT

step_pid=""
on_signal() {
    [[ -n $step_pid ]] && kill -TERM "$step_pid" 2>/dev/null && wait "$step_pid" 2>/dev/null
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# step NAME COMMAND...: print a section header, run COMMAND, record its duration.
step() {
    local name=$1 t0=$SECONDS rc
    shift
    step_no=$((step_no + 1))
    current=$name
    printf '\n==== [%d/%d] %s ====\n$ %s\n' "$step_no" "$TOTAL_STEPS" "$name" "$*"
    if [[ -n $STEP_TIMEOUT ]]; then
        rc=0
        # In the background so that a TERM/INT sent to this script reaches the step too
        # (timeout runs it in a process group of its own).
        timeout -k 60 "$STEP_TIMEOUT" "$@" &
        step_pid=$!
        wait "$step_pid" || rc=$?
        step_pid=""
        if ((rc == 124)); then
            printf '==== step "%s" timed out after %s ====\n' "$name" "$STEP_TIMEOUT"
        fi
        ((rc == 0)) || exit "$rc"
    else
        "$@"
    fi
    local took=$((SECONDS - t0))
    passed+=("$name ${took}s")
    printf '==== %s: %ds, %s ====\n' "$name" "$took" "$(free_space)"
}

printf '==== Mamori CI: %s, %s cores, %s, %s ====\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
    "$(nproc)" "$(uname -m)" "$(free_space)"

step "install-deps" bash ci/install-deps.sh
printf '%s\n' "$(rustc --version)" "$(cargo --version)"

step "fmt" cargo fmt --all --check

step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings

step "test" cargo test --workspace --locked

step "image recipes" bash -c 'bash ci/check-buildroot.sh && bash ci/check-yocto.sh'

# LIBNFTNL_LIB_DIR / LIBMNL_LIB_DIR for cross-linking the firewall crate.
# shellcheck disable=SC2016  # $1 is for the inner bash
step "aarch64 sysroot" bash -c 'bash ci/aarch64-sysroot.sh >"$1"' _ "$tmp_env"
# shellcheck disable=SC1090
. "$tmp_env"
printf 'LIBNFTNL_LIB_DIR=%s\nLIBMNL_LIB_DIR=%s\n' "$LIBNFTNL_LIB_DIR" "$LIBMNL_LIB_DIR"

step "aarch64 build" cargo build --workspace --locked --release --target "$AARCH64"

# The image from that build (its rootfs base cached outside the clone, in MAMORI_CACHE).
step "qemu image" env MAMORI_DEPS_DONE=1 bash image-build/qemu/build.sh

# The whole box under qemu-system-aarch64: boot, setup wizard, firewall, mail, DLP, an
# update kept and a broken one rolled back, one signed by other keys refused; boots cut
# short and a boot environment naming the empty slot (tests/image/main.rs; one at a time).
# Native, so without the arm64 library directories (the test step's build is reused as is).
step "whole-box test (qemu)" env -u LIBNFTNL_LIB_DIR -u LIBMNL_LIB_DIR \
    cargo test --locked -p mamori --test image -- --nocapture --test-threads=1
# No later step uses the native debug tree: the fuzz targets build in fuzz/target, and the
# aarch64 tests rebuild there only their few host build scripts and proc macros.
prune target/debug
prune target/image

# Runs under qemu-aarch64-static via the runner in .cargo/config.toml.
step "aarch64 test (qemu)" cargo test --locked --release --target "$AARCH64" -p mamori-core -p mamori-dlp -p mamori-smtp -p mamori-firewall -p mamori-firewall-linux -p mamori-firewalld -p mamori-settings -p mamori-panel -p mamori-admind -p mamori-update -p mamori-updated --lib
prune "target/$AARCH64"

# Without the arm64 library directories: the fuzz targets link no libnftnl or libmnl
# (only mamori-firewall-linux does, and nothing the fuzz workspace uses depends on it).
step "fuzz smoke" env -u LIBNFTNL_LIB_DIR -u LIBMNL_LIB_DIR FUZZ_JOBS=2 bash fuzz/run.sh 20

printf '\n==== CI PASSED: %d/%d steps in %ds: %s ====\n' "$step_no" "$TOTAL_STEPS" \
    "$((SECONDS - t_start))" "$(summary)"

# shellcheck shell=bash
# Sourced by the benchmarks: the allocator settings the relay's systemd unit gives it
# (its `Environment=MALLOC_…` lines), so that a benchmark runs the relay as the box does.
# Usage: relay_unit_env   (prints NAME=VALUE lines; use with `env`)
relay_unit_env() {
    local unit
    unit="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/firmware/mamori/systemd/mamori-smtpd.service"
    sed -n 's/^Environment=\(MALLOC_[A-Z_]*=[^ ]*\)$/\1/p' "$unit"
}

#!/usr/bin/env bash
# THE run command (README, "Two commands"): bash ci/run-demo.sh [mamori run options]
# Installs what is missing, builds the release binary and runs `mamori run`, which prints
# where the admin panel and the SMTP ports listen. Data goes to ./mamori-data (repo root)
# unless told otherwise.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi

bash ci/install-deps.sh --runtime-only
cargo build --release --locked -p mamori
exec "${CARGO_TARGET_DIR:-target}/release/mamori" run "$@"

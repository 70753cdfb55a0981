#!/usr/bin/env bash
# Full wizard: backend, name, Static MLS (auto-detected), permanent address, contacts lockdown.
# Usage: moltid_init.sh [--yes] [--backend builtin|minima]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id init --config "$MOLTNET_CONFIG" "$@"

#!/usr/bin/env bash
# Set the Static MLS host: the one given, else auto-detected.
# Usage: moltid_setup_mls.sh [<mls p2pidentity>] [--yes]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id setup-mls "$@" --config "$MOLTNET_CONFIG"

#!/usr/bin/env bash
# Check the three CLAIMED conditions and print the MoltID; exit 1 naming those that fail.
# Usage: moltid_claim.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id claim --config "$MOLTNET_CONFIG" "$@"

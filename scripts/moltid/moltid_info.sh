#!/usr/bin/env bash
# Print the identity card as JSON.
# Usage: moltid_info.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id info --config "$MOLTNET_CONFIG" "$@"

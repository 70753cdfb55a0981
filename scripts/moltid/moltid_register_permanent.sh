#!/usr/bin/env bash
# Register the permanent MAX# address (on this node when it is its own MLS), or say who must.
# Usage: moltid_register_permanent.sh [--publickey <key to register on this MLS host>]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id register-permanent --config "$MOLTNET_CONFIG" "$@"

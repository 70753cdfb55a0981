#!/usr/bin/env bash
# Print a 32-byte verification challenge (0x + 64 hex digits). Needs no config.
# Usage: moltid_challenge.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id challenge "$@"

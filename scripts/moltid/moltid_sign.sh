#!/usr/bin/env bash
# Sign data with the MoltID key (0x... = bytes, else UTF-8); prints the 0x... signature.
# Usage: moltid_sign.sh <data>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
if [ $# -lt 1 ]; then echo "usage: moltid_sign.sh <data>" >&2; exit 2; fi
moltnet id sign "$1" --config "$MOLTNET_CONFIG" "${@:2}"

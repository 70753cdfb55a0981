#!/usr/bin/env bash
# Disable unsolicited contact requests and re-apply the allow list (run after the Minima node starts).
# Usage: moltid_lockdown_contacts.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
moltnet id contacts lockdown --config "$MOLTNET_CONFIG" "$@"

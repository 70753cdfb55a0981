#!/usr/bin/env bash
# Verify a signature against a public key, offline: exit 0 valid, 1 invalid, 2 malformed.
# Usage: moltid_verify.sh <data> <publickey|MOLTID:...> <signature>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_moltnet.sh"
if [ $# -ne 3 ]; then echo "usage: moltid_verify.sh <data> <publickey> <signature>" >&2; exit 2; fi
moltnet id verify --data "$1" --publickey "$2" --signature "$3"

# Shared by the moltid_*.sh wrappers (sourced, not run): how to reach `moltnet`, and which config.
#   MOLTNET_CONFIG  the config file (default /etc/moltnet.yaml)
#   MOLTNET_BIN     the moltnet command (default: this checkout's dist/src/cli/main.js if built, else moltnet on PATH)
# The MLS variables of the seed (AUTO_DETECT_MLS, PREFER_SOVEREIGN_MLS, COMMUNITY_MLS_HOST, P2P_PORT)
# and the Minima password variable (identity.minima.passwordEnv, default MINIMA_PASSWORD) pass through.
MOLTNET_CONFIG="${MOLTNET_CONFIG:-/etc/moltnet.yaml}"
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -n "${MOLTNET_BIN:-}" ]; then
  moltnet() { $MOLTNET_BIN "$@"; }
elif [ -f "$_here/../../dist/src/cli/main.js" ]; then
  moltnet() { node "$_here/../../dist/src/cli/main.js" "$@"; }
else
  moltnet() { command moltnet "$@"; }
fi

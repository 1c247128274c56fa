#!/usr/bin/env bash
# Installs kad's dependencies, builds it and runs the built-in demo: two kad routers and a client in network
# namespaces, a virtual IP that fails over when the master stops. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec node bin/kad.js demo "$@"

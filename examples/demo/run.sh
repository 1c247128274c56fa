#!/bin/sh
# The kad demo: two kad routers and a client in namespaces, a VIP failing over live. Needs root.
cd "$(dirname "$0")/../.." && exec node bin/kad.js demo "$@"

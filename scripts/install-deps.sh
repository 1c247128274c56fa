#!/usr/bin/env bash
# Installs what kad and its tests need on a fresh Debian machine (as root), then builds kad.
# Debian packages: the real peers the tests run against (keepalived, FRR, HAProxy, dnsmasq), the kernel tools
# (iproute2, nftables, ipvsadm, a User-Mode Linux kernel with IPVS), capture and packet tools.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(g++ make iproute2 procps psmisc kmod keepalived frr haproxy dnsmasq nftables ipvsadm user-mode-linux tshark python3-scapy openssl strace build-essential python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the Debian services must not run on their own: tests start their own instances in namespaces
for s in keepalived frr haproxy dnsmasq; do
  systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done

# the native addon builds against the installed Node's headers (Debian's nodejs ships them in /usr/include/node)
if [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build

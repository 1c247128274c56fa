#!/usr/bin/env bash
# Runs one command inside a User-Mode Linux guest whose kernel has IPVS (this machine's kernel has none).
#
#   test/uml/uml-run.sh [--mem SIZE] [--timeout SECS] [--modules "ip_vs ip_vs_rr ..."] -- COMMAND [ARG...]
#
# The guest boots Debian's linux.uml with the host's file system as its root (hostfs, read-write), mounts
# /proc, /sys and a private tmpfs on /run, loads the IPVS modules from /usr/lib/uml/modules, brings lo up, and
# runs COMMAND as root in the caller's working directory with the caller's environment. COMMAND's stdout and
# stderr are printed after the guest halts; the script exits with COMMAND's status (125 when the guest did not
# boot or left no status, 124 on timeout).
#
# Needs: user-mode-linux, kmod (and ipvsadm to inspect tables).
set -uo pipefail

mem=1024M
timeout_s=300
modules="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_twos ip_vs_pe_sip veth dummy"
while [ $# -gt 0 ]; do
  case "$1" in
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --modules) modules=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: uml-run.sh [--mem SIZE] [--timeout SECS] [--modules LIST] -- COMMAND [ARG...]" >&2; exit 2; }

kernel=${KAD_UML_KERNEL:-$(command -v linux.uml || echo /usr/bin/linux.uml)}
[ -x "$kernel" ] || { echo "uml-run: $kernel not found (apt-get install -y user-mode-linux kmod)" >&2; exit 125; }
moddir=$(ls -d /usr/lib/uml/modules/* 2>/dev/null | head -n1)
[ -n "$moddir" ] || { echo "uml-run: no UML modules under /usr/lib/uml/modules" >&2; exit 125; }

work=$(mktemp -d /tmp/kad-uml.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
printf '%q ' "$@" > "$work/cmd"
# the caller's environment, minus what belongs to this shell
export -p | grep -vE '^(declare -x|export) (PWD|OLDPWD|SHLVL|_|TERM)=' > "$work/env" || true
cat > "$work/init" <<INIT
#!/bin/bash
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /run
mkdir -p /run/lock /run/netns
mkdir -p "/run/modroot/lib/modules/\$(uname -r)"
mount --bind "$moddir" "/run/modroot/lib/modules/\$(uname -r)"
for m in $modules; do modprobe -q -d /run/modroot \$m 2>/dev/null || true; done
ip link set lo up
. "$work/env" 2>/dev/null
export KAD_IN_UML=1
cd "$PWD"
bash -c "\$(cat "$work/cmd")" > "$work/out" 2>&1 < /dev/null
echo \$? > "$work/status"
sync
halt -f
INIT
chmod +x "$work/init"

timeout --kill-after=5 "$timeout_s" "$kernel" mem="$mem" root=/dev/root rootfstype=hostfs rootflags=/ rw quiet \
  init="$work/init" con=null con0=null,fd:2 </dev/null 2>"$work/console" >/dev/null
rc=$?
[ -f "$work/out" ] && cat "$work/out"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "uml-run: the guest ran past ${timeout_s}s" >&2; exit 124; fi
if [ ! -f "$work/status" ]; then
  echo "uml-run: the guest left no exit status; console:" >&2
  tail -n 30 "$work/console" >&2
  exit 125
fi
exit "$(cat "$work/status")"

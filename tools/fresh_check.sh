#!/usr/bin/env bash
# Run the README's commands the way a new user (and CI) would: on a scratch clone of the
# committed tree, with a new .venv, `../shared` beside it, CI=true and no stdin.
#
#   tools/fresh_check.sh [--demo] [--setup-only] [--keep] [--chroot]
#
#   default   scratch clone + new venv on this machine, then `bash .ci/run` (= make test)
#   --demo    also `make demo` in the clone
#   --setup-only  only `tools/setup.sh` (does a fresh machine get everything?), no tests
#   --chroot  stricter: a fresh Debian bookworm root made by debootstrap, with only the base
#             that the project's machines ship (python3 + venv + headers, gcc, make, git);
#             everything else must come from tools/setup.sh. Needs root and debootstrap.
#   --keep    keep the scratch folder (its path is printed)
#
# Prints the closing lines of each command, the minutes it took, and exits non-zero when
# any command failed. Only the committed state is checked: commit first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED="$ROOT/../shared"
demo=0 keep=0 chroot=0 setup_only=0
for a in "$@"; do
  case "$a" in
    --demo) demo=1 ;;
    --keep) keep=1 ;;
    --chroot) chroot=1 ;;
    --setup-only) setup_only=1 ;;
    *) echo "error: unknown option $a (use --demo, --setup-only, --keep, --chroot)" >&2; exit 2 ;;
  esac
done
[ -d "$SHARED" ] || { echo "error: $SHARED is missing (CI lays shared/ beside the clone)" >&2; exit 2; }

scratch=$(mktemp -d /tmp/edgekws-fresh.XXXXXX)
cleanup() {
  if [ "$chroot" = 1 ]; then
    for m in proc sys dev/pts dev; do umount -l "$scratch/root/$m" 2>/dev/null || true; done
  fi
  if grep -q " $scratch/" /proc/mounts; then  # never rm -rf through a bind mount of /dev or /proc
    echo "fresh-check: $scratch still has mounts; left in place" >&2
  elif [ "$keep" = 0 ]; then rm -rf "$scratch"; else echo "fresh-check: kept $scratch"; fi
}
trap cleanup EXIT

steps=("bash .ci/run")
[ "$demo" = 1 ] && steps+=("make demo")
[ "$setup_only" = 1 ] && steps=("./tools/setup.sh")

label() { local l=${1//[^A-Za-z0-9]/_}; echo "${l##_}"; }

run_step() {  # run_step LABEL COMMAND...
  local label=$1; shift
  local t0=$SECONDS
  echo "fresh-check: $label ..."
  if "$@" >"$scratch/$label.log" 2>&1 </dev/null; then rc=0; else rc=$?; fi
  echo "fresh-check: $label exit $rc after $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s; last lines:"
  tail -n 4 "$scratch/$label.log" | sed 's/^/  | /'
  return "$rc"
}

if [ "$chroot" = 0 ]; then
  mkdir -p "$scratch/work"
  git clone -q "$ROOT" "$scratch/work/main"
  ln -s "$(cd "$SHARED" && pwd)" "$scratch/work/shared"
  status=0
  for s in "${steps[@]}"; do
    run_step "$(label "$s")" env CI=true bash -c "cd '$scratch/work/main' && $s" || status=1
  done
  exit "$status"
fi

[ "$(id -u)" = 0 ] || { echo "error: --chroot needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "error: --chroot needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
base="python3,python3-venv,python3-dev,gcc,g++,make,git,ca-certificates"
run_step debootstrap debootstrap --variant=minbase --include="$base" bookworm "$scratch/root" http://deb.debian.org/debian
for m in proc sys dev dev/pts; do mkdir -p "$scratch/root/$m"; mount --bind "/$m" "$scratch/root/$m"; done
cp /etc/resolv.conf "$scratch/root/etc/resolv.conf"
# The machines' own trust store and pip settings (a TLS proxy's CA lives there), not project files.
cp /etc/ssl/certs/ca-certificates.crt "$scratch/root/etc/ssl/certs/ca-certificates.crt"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$scratch/root/etc/pip.conf"
mkdir -p "$scratch/root/work"
git clone -q "$ROOT" "$scratch/root/work/main"
cp -r "$SHARED" "$scratch/root/work/shared"
status=0
for s in "${steps[@]}"; do
  run_step "$(label "$s")" chroot "$scratch/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI=true \
    bash -c "cd /work/main && $s" || status=1
done
exit "$status"

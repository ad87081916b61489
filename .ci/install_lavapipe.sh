#!/bin/sh
# Install Mesa's software Vulkan driver (lavapipe) from bookworm-backports so that
# LiteRT's WebGPU(Dawn)-over-Vulkan GPU accelerator finds an adapter on CPU-only
# Debian 12 machines (bookworm's own Mesa 22.3 reportedly gives "No adapters found").
# Idempotent. Exits 0 without changing anything when not root, no apt, or not Debian 12.
set -u
log() { echo "install_lavapipe: $*"; }

if [ "$(id -u)" != 0 ]; then log "not root; skipping"; exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then log "no apt-get; skipping"; exit 0; fi
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  log "not Debian 12 bookworm (ID=${ID:-?} CODENAME=${VERSION_CODENAME:-?}); skipping"; exit 0
fi

# Already done? (lavapipe ICD present and Mesa >= 23)
have_ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -n "$have_ver" ] && dpkg --compare-versions "$have_ver" ge 23 \
   && ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  log "mesa-vulkan-drivers $have_ver already installed; nothing to do"; exit 0
fi

# Find the Debian mirror the machine already uses (deb822 .sources or one-line lists).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # paragraph mode: the first stanza whose Suites has "bookworm" and is not security
  m=$(awk 'BEGIN{RS=""} /(^|\n)Suites:[^\n]*bookworm([ \t\n]|$)/ && !/debian-security/ {
             if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) { u=substr($0, RSTART, RLENGTH);
               sub(/^\n?URIs:[ \t]*/, "", u); print u; exit } }' "$f")
  [ -n "$m" ] && { mirror=$m; break; }
done
if [ -z "$mirror" ]; then
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    m=$(awk '$1=="deb" && $0 ~ / bookworm / {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file|mirror|ftp):/ && $i !~ /security/) {print $i; exit}}' "$f")
    [ -n "$m" ] && { mirror=$m; break; }
  done
fi
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
log "using mirror $mirror"

# Add backports unless an active source already enables it (comments and
# files apt ignores, e.g. *.disabled, are not looked at).
if ! cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
     | grep -v '^[[:space:]]*#' | grep -q 'bookworm-backports'; then
  echo "deb $mirror bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
  log "added /etc/apt/sources.list.d/bookworm-backports.list"
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q; then log "apt-get update failed"; exit 1; fi
if ! apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1; then
  log "apt-get install failed"; exit 1
fi
log "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
ls /usr/share/vulkan/icd.d/ 2>/dev/null
exit 0

#!/usr/bin/env bash
# Puts promtool (Prometheus's rule checker) in .tools/bin, from Debian's `prometheus` package,
# unpacked without installing it (no service is started). `npm run check:alerts` uses it; CI runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .tools/bin/promtool && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; })
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
mkdir -p .tools/bin
mv "$work/usr/bin/promtool" .tools/bin/promtool
.tools/bin/promtool --version | head -1

#!/usr/bin/env bash
# Builds the .deb with CPack into a scratch folder, checks it holds the executables (hy3, hy3-torch, hy3-workbench), the .desktop
# entry, the icon, the man page and the presets, then unpacks it and runs the installed `hy3`
# (which must find its presets in the installed share folder, not in the source tree).
set -euo pipefail
build_dir=${1:?usage: check_package.sh BUILD_DIR}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

(cd "$build_dir" && cpack -G DEB -B "$out" >/dev/null)
deb=$(ls "$out"/*.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/hy3 ./usr/bin/hy3-torch ./usr/bin/hy3-workbench ./usr/share/applications/hy3-workbench.desktop \
         ./usr/share/icons/hicolor/256x256/apps/hy3-workbench.png ./usr/share/man/man1/hy3.1 \
         ./usr/share/hy3/resources/presets/hy3-preview.json \
         ./usr/share/hy3/resources/projects/default/default.hy3proj; do
  grep -q " $f\$" <<<"$contents" || { echo "package: missing $f"; exit 1; }
done
dpkg-deb -f "$deb" Depends | grep -q libtorch || { echo "package: Depends lacks libtorch"; exit 1; }

dpkg-deb -x "$deb" "$out/root"
report=$(env -u HY3_RESOURCES "$out/root/usr/bin/hy3" model-info hy3-preview)
grep -q "295,033,528,320" <<<"$report" || { echo "package: installed hy3 gave: $report"; exit 1; }
grep -q "$out/root/usr/share/hy3/resources/presets/hy3-preview.json" <<<"$report" \
  || { echo "package: installed hy3 did not use its own presets: $report"; exit 1; }
# A LibTorch command goes through the installed hy3 to the installed hy3-torch beside it.
"$out/root/usr/bin/hy3" forward --help | grep -q -- "--model" || { echo "package: installed hy3 forward --help failed"; exit 1; }
echo "package: ok ($(basename "$deb"), $(wc -l <<<"$contents") entries)"

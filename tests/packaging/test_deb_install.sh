#!/usr/bin/env bash
# Builds the .deb with CPack, makes a fresh Debian 12 root with debootstrap (no container engine), installs the
# package there with apt (so its declared dependencies must be complete), and runs what a user would run:
#   glmv-cli --version, a headless glmv-cli chat on the bundled demo model with a real PNG, and a check that no
#   installed binary has an unresolved library. Also checks the desktop entry, MIME types and icons.
#
#   test_deb_install.sh BUILD_DIR SOURCE_DIR
#
# Needs root (debootstrap, chroot) and the Debian mirror that apt uses. Exits 77 (skipped) only when not root.
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mirror=${GLMV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${GLMV_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=bookworm

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: debootstrap and chroot need root (CI runs as root)"
    exit 77
fi
for tool in debootstrap cpack chroot; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (./tools/install-deps.sh installs it)"; exit 1; }
done

work=$(mktemp -d /var/tmp/glmv-deb-test.XXXXXX)
root=$work/root
cleanup() {
    for m in proc dev/pts dev; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $* ($(date +%T))"; }

step "cpack"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/pkg/*.deb | head -n1)
[ -f "$deb" ] || fail "cpack wrote no .deb"
echo "package: $(basename "$deb"), $(du -h "$deb" | cut -f1)"
dpkg-deb -f "$deb" Depends | grep -q 'libqt6widgets6' || fail "Depends does not name Qt: $(dpkg-deb -f "$deb" Depends)"

step "debootstrap $suite (minbase)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log"; fail "debootstrap failed"; }
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
mount -t proc proc "$root/proc"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

step "apt-get install the package into the fresh root"
cp "$deb" "$root/tmp/glmv.deb"
chroot "$root" apt-get update -q >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log"; fail "apt-get update failed"; }
chroot "$root" apt-get install -y -q --no-install-recommends /tmp/glmv.deb >>"$work/apt.log" 2>&1 ||
    { tail -n 40 "$work/apt.log"; fail "apt-get could not install the package"; }

step "installed files"
for f in /usr/bin/glmv-desktop /usr/bin/glmv-cli /usr/bin/glmv-server /usr/share/applications/glmv-desktop.desktop \
    /usr/share/icons/hicolor/scalable/apps/glmv-desktop.svg /usr/share/icons/hicolor/48x48/apps/glmv-desktop.png \
    /usr/share/icons/hicolor/256x256/apps/glmv-desktop.png /usr/share/glmv-desktop/demo-model/model.safetensors \
    /usr/share/glmv-desktop/demo-model/tokenizer.json; do
    [ -e "$root$f" ] || fail "$f is not installed"
done
[ ! -e "$root/usr/share/glmv-desktop/demo-model/recipe" ] || fail "the training recipe is installed with the model"
for mime in image/png image/jpeg video/mp4 application/pdf; do
    grep -q "^MimeType=.*$mime;" "$root/usr/share/applications/glmv-desktop.desktop" || fail "desktop entry lacks $mime"
done
for bin in glmv-desktop glmv-cli glmv-server; do
    missing=$(chroot "$root" ldd "/usr/bin/$bin" | grep 'not found' || true)
    [ -z "$missing" ] || fail "$bin has unresolved libraries in a fresh root (undeclared dependency): $missing"
done

step "glmv-cli --version"
version=$(chroot "$root" glmv-cli --version)
echo "$version"
echo "$version" | grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' || fail "glmv-cli --version printed no version: $version"

desktop_version=$(QT_QPA_PLATFORM=offscreen chroot "$root" glmv-desktop --version 2>&1) ||
    fail "glmv-desktop does not start in the fresh root: $desktop_version"
echo "$desktop_version" | grep -q "$(echo "$version" | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+')" ||
    fail "glmv-desktop --version printed '$desktop_version'"

step "headless glmv-cli chat on the demo model"
# A fresh picture (a seed the training never used) from the demo model's own generator, saved as PNG.
read -r expected < <(/usr/bin/python3 - "$src/resources/demo-model/recipe" "$root/tmp/question.png" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import synth
s = synth.task_color(np.random.default_rng([5150, 1]), "en")
s["image"].save(sys.argv[2])
print(s["answer"])
EOF
)
out=$(chroot "$root" glmv-cli chat --model /usr/share/glmv-desktop/demo-model --image /tmp/question.png --json \
    "What color is the shape?")
echo "$out"
answer=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["answer"].strip())')
[ "$answer" = "$expected" ] || fail "the installed glmv-cli answered '$answer', expected '$expected'"
step "OK: installed and answered '$answer'"

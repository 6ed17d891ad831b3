#!/usr/bin/env bash
# Installs what sft4j needs on Debian or Ubuntu (only what is missing), builds it, and with --kernel-user
# installs the Jupyter kernelspec for the current user. --test adds what the test suite needs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
want_test=0
kernel_user=0
for a in "$@"; do
    case "$a" in
        --test) want_test=1 ;;
        --kernel-user) kernel_user=1 ;;
        *) echo "setup: unknown option $a" >&2; exit 2 ;;
    esac
done

pkgs=()
need() { dpkg -s "$1" >/dev/null 2>&1 || pkgs+=("$1"); }
if ! command -v java >/dev/null || ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
    need openjdk-17-jdk-headless
fi
command -v mvn >/dev/null || need maven
need jupyter-nbconvert
need jupyter-client
need python3-nbclient
need fontconfig          # XChart draws with AWT: headless, but it needs a font
need fonts-dejavu-core
if [ "$want_test" = 1 ]; then
    need python3-jupyter-kernel-test
    need chromium
fi
if [ "${#pkgs[@]}" -gt 0 ]; then
    echo "setup: installing ${pkgs[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

echo "setup: building sft4j" >&2
# package, not install: the build stays in the checkout (bin/sft4j and the kernel run from target/)
(cd "$ROOT" && mvn -B -q -DskipTests package)

if [ "$kernel_user" = 1 ]; then
    "$ROOT/bin/sft4j" kernel install --user
fi

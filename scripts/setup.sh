#!/usr/bin/env bash
# Installs what building and testing Naksha needs, and nothing that is already there.
# Idempotent: a second run installs nothing and takes about a second.
set -euo pipefail

APT_PACKAGES=(libpq-dev libzstd-dev libssl-dev libyaml-dev postgresql protobuf-compiler pkg-config)
# Python packages the test suites use (the any-language client test, peers). Keep short.
PIP_PACKAGES=(protobuf)

say() { printf '==> %s\n' "$*"; }

if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift is not on PATH. Naksha needs Swift 6.3 (https://www.swift.org/install/linux/)." >&2
    exit 1
fi
swift_version=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\.[0-9]*\).*/\1/p' | head -1)
case "$swift_version" in
    6.[3-9]*|[7-9].*) ;;
    *) echo "warning: Swift $swift_version found; Naksha is built and tested with Swift 6.3" >&2 ;;
esac

missing=()
for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { echo "error: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
        SUDO="sudo"
    fi
    say "installing with apt: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "system packages present"
fi

if ((${#PIP_PACKAGES[@]})); then
    missing_pip=()
    for package in "${PIP_PACKAGES[@]}"; do
        python3 -m pip show -q "${package%%[<>=]*}" >/dev/null 2>&1 || missing_pip+=("$package")
    done
    if ((${#missing_pip[@]})); then
        say "installing with pip: ${missing_pip[*]}"
        python3 -m pip install -q "${missing_pip[@]}"
    fi
fi

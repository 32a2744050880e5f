#!/usr/bin/env bash
# Installs the Debian 12 packages hoist needs to build, test and run its
# demo, skipping the ones already present.  Run as root (or with sudo).
set -euo pipefail

packages=(
	gcc pkg-config meson ninja-build
	libevent-dev libjansson-dev libfyaml-dev libsqlite3-dev
	libcurl4-openssl-dev libssl-dev libcmocka-dev
	python3 python3-numpy wamerican locales procps
	python3-botocore awscli rclone
)

missing=()
for pkg in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
		grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done

# The S3 tests run s3rver from the npm registry.  A machine that has
# Node.js from elsewhere keeps it; otherwise Debian's packages provide it.
if ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	else
		sudo=
	fi
	echo "hoist: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

# The configuration tests read numbers under a German locale, where the
# decimal separator is a comma.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
	if [ "$(id -u)" -eq 0 ]; then
		sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
		locale-gen >/dev/null
	fi
fi

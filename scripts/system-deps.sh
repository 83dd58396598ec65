#!/usr/bin/env bash
# Install the Debian packages the app and its tests need, when they are missing:
# pango (WeasyPrint's PDF rendering); with --venv, python3-venv (`python3 -m venv`
# needs it before .venv can be created); with --browser, Chromium (browser tests).
# Installs only as root with apt-get; otherwise says what is missing and goes on.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
for option in "$@"; do
  case "$option" in
    --browser) packages+=(chromium) ;;
    --venv) packages+=(python3-venv) ;;
    *) echo "Unknown option: $option (expected --browser or --venv)" >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: the names below would mean nothing here.
  echo "Not a Debian system: make sure Python's venv module, pango and Chromium are installed." >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages (install them with: sudo apt-get install ${missing[*]})" >&2
fi

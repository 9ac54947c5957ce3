#!/bin/sh
# Debian's Chromium for the web tests (driven by Playwright with executable_path=/usr/bin/chromium;
# Playwright's own browser download is never used). Installs without prompting when missing.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install_browser: /usr/bin/chromium is missing and this user cannot install packages;" >&2
    echo "install it once with: sudo apt-get install chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x /usr/bin/chromium

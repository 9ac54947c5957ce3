#!/bin/sh
# The QGIS screenshot of docs/maps.md: the origins GeoJSON of a workspace (default: the
# `make demo` one) opened as it is in QGIS desktop, styled by fraud_rate, on a virtual screen.
# Needs Debian's qgis, xvfb, xdotool and imagemagick (not needed by Clearlane itself):
#   sudo apt-get install qgis xvfb xdotool imagemagick
# Usage: sh scripts/qgis_screenshot.sh [WORKSPACE] [OUT.png]   (PYTHON: Clearlane's Python)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORKSPACE=${1:-$ROOT/clearlane-workspace}
OUT=${2:-$ROOT/docs/img/maps-qgis.png}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# 1. the file an analyst downloads from /maps/origins.geojson (same service, same properties)
PYTHONPATH=$ROOT/src "${PYTHON:-$ROOT/.venv/bin/python}" - "$WORKSPACE" "$WORK/origins.geojson" <<'PY'
import json, sys
from clearlane.accounts.roles import Principal
from clearlane.services.maps import origins_geojson
from clearlane.store.workspace import Workspace
collection = origins_geojson(Workspace.open(sys.argv[1]), Principal("qgis", "analyst"))
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(collection, out)
PY
# 2. a QGIS project with that layer, graduated by fraud_rate (PyQGIS of the system Python)
QT_QPA_PLATFORM=offscreen /usr/bin/python3 "$ROOT/scripts/qgis_project.py" \
    "$WORK/origins.geojson" "$WORK/origins.qgz"
# 3. QGIS desktop on a virtual screen, its window filling the screen, then the screenshot
cat > "$WORK/shoot.sh" <<SH
qgis --nologo --noversioncheck --noplugins --project "$WORK/origins.qgz" >/dev/null 2>&1 &
sleep 20
for w in \$(xdotool search --name 'QGIS'); do xdotool windowmove \$w 0 0 windowsize \$w 1400 860; done
sleep 10
import -window root "$OUT"
kill %1 2>/dev/null || true
SH
HOME="$WORK" QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x860x24" sh "$WORK/shoot.sh"
echo "wrote $OUT"

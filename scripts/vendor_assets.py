"""Copy the front-end files Clearlane serves from npm's ``node_modules`` into the package.

Run by ``make assets`` after ``npm ci``; the copies are git-ignored. Each entry names the npm
package (pinned in package.json and package-lock.json), the file in it and where it goes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDORED: tuple[tuple[str, str, str], ...] = (
    ("swagger-ui-dist", "swagger-ui-bundle.js", "src/clearlane/api/static/swagger-ui"),
    ("swagger-ui-dist", "swagger-ui.css", "src/clearlane/api/static/swagger-ui"),
    ("htmx.org", "dist/htmx.min.js", "src/clearlane/web/static/vendor"),
)


def main() -> int:
    for package, name, target in VENDORED:
        source = ROOT / "node_modules" / package / name
        name = Path(name).name
        if not source.is_file():
            print(f"missing {source}: run `npm ci` first", file=sys.stderr)
            return 1
        folder = ROOT / target
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{name}.tmp"
        shutil.copyfile(source, temporary)
        temporary.replace(folder / name)
    print(f"copied {len(VENDORED)} asset file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

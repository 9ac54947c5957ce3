"""Build the HS edition tables shipped in ``src/clearlane/reference/data/hs/``.

python scripts/build_hs_editions.py                    # from shared/data/hs/concordance
python scripts/build_hs_editions.py --source DIR       # another copy of the same CSV files
python scripts/build_hs_editions.py --check            # exit 1 if the shipped files are stale

Inputs (see PROVENANCE.md in the source folder): the UNSD correlation tables HS2012→HS2017 and
HS2017→HS2022 (every 6-digit pair, with UNSD's relationship label) and the subheading lists
of HS 2012, 2017 and 2022. Outputs (gzip, deterministic bytes):

* ``subheadings.csv.gz``: ``edition,code,description`` for the three editions;
* ``correlations.csv.gz``: ``from_edition,from_code,to_edition,to_code,relationship,source``;
  ``source`` is ``unsd`` for a published pair and ``patch`` for a pair written here.

The published table has known defects; they are patched here, explicitly (``PATCHES``), and
every patch is listed in the shipped PROVENANCE.md:

* HS2017 300219 is absent from the UNSD table. It is linked to the union of the HS 2022
  successors of its siblings of subheading group 3002.1 (3002.11-3002.15): a split, so the
  product keeps 300219 as its own category (it no longer exists in HS 2022).
* HS2017 854150 is linked only to 8549.21-8549.99 (electrical waste; UNSD's "every heading
  possibly affected" links). Those links are replaced by its evident successors 8541.51 and
  8541.59: a split.
* HS2017 911490 is linked only to 8549.21-8549.99 too, not to itself, although 9114.90
  continues in HS 2022 (found by the check below: a code valid in both editions whose links
  name neither itself nor one successor). The self-link 911490 → 911490 is added.

The build refuses to write when a code valid in both editions is linked to several new codes
none of which is itself and that code has no patch (a new defect to decide on).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_source() -> Path:
    """``$CLEARLANE_SHARED_DATA/hs/concordance``, else ``shared/data`` beside the checkout
    (or beside its parent, for a worktree)."""
    shared = os.environ.get("CLEARLANE_SHARED_DATA")
    candidates = [Path(shared)] if shared else []
    candidates += [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
    for folder in candidates:
        if (folder / "hs" / "concordance").is_dir():
            return folder / "hs" / "concordance"
    return candidates[0] / "hs" / "concordance"


TARGET = ROOT / "src" / "clearlane" / "reference" / "data" / "hs"
EDITIONS = ("2012", "2017", "2022")
STEPS = (("2012", "2017"), ("2017", "2022"))

# (from_edition, from_code) -> (UNSD targets dropped, targets added, why)
PATCHES: dict[tuple[str, str], tuple[str, tuple[str, ...], str]] = {
    ("2017", "300219"): (
        "none",
        (),  # filled from its siblings' successors, see _sibling_targets
        "absent from the UNSD table; linked to the HS 2022 successors of 3002.11-3002.15",
    ),
    ("2017", "854150"): (
        "all",
        ("854151", "854159"),
        "UNSD links only 8549.21-8549.99; replaced by its evident successors 8541.51/8541.59",
    ),
    ("2017", "911490"): (
        "none",
        ("911490",),
        "UNSD links only 8549.21-8549.99, not the continuing 9114.90; self-link added",
    ),
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _gzip_csv(header: list[str], rows: list[tuple[str, ...]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    # mtime=0 and no file name: the same input gives the same bytes (checked by --check).
    return gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


def build(source: Path) -> dict[str, bytes]:
    """The bytes of every shipped file, from the CSV files in ``source``."""
    subheadings: dict[str, dict[str, str]] = {}
    for edition in EDITIONS:
        rows = _read(source / f"hs{edition}_subheadings.csv")
        subheadings[edition] = {r[f"hs{edition}"]: r["description"] for r in rows}
    pairs: list[tuple[str, str, str, str, str, str]] = []
    for old, new in STEPS:
        rows = _read(source / f"hs{old}_to_hs{new}_detail.csv")
        label = f"unsd_relationship_hs{new}_to_hs{old}"
        links: dict[str, dict[str, str]] = defaultdict(dict)
        for r in rows:
            links[r[f"hs{old}"]][r[f"hs{new}"]] = r[label]
        for (edition, code), (drop, add, _why) in PATCHES.items():
            if edition != old:
                continue
            if drop == "all":
                links[code] = {}
            targets = add or _sibling_targets(code, links)
            for target in targets:
                links[code].setdefault(target, "patch")
        _refuse_unexplained(old, new, links, subheadings)
        for code in sorted(links):
            for target in sorted(links[code]):
                relationship = links[code][target]
                source_name = "patch" if relationship == "patch" else "unsd"
                pairs.append((old, code, new, target, relationship, source_name))
    linked = {(p[0], p[1]) for p in pairs}
    missing = [(old, c) for old, _new in STEPS for c in subheadings[old] if (old, c) not in linked]
    if missing:
        raise SystemExit(f"subheadings without any link after patching: {missing[:10]}")
    return {
        "subheadings.csv.gz": _gzip_csv(
            ["edition", "code", "description"],
            [(e, c, d) for e in EDITIONS for c, d in sorted(subheadings[e].items())],
        ),
        "correlations.csv.gz": _gzip_csv(
            ["from_edition", "from_code", "to_edition", "to_code", "relationship", "source"],
            pairs,
        ),
    }


def _sibling_targets(code: str, links: dict[str, dict[str, str]]) -> tuple[str, ...]:
    """The new codes of the other codes of the same 5-digit subheading group."""
    group = code[:5]
    return tuple(
        sorted({t for c, ts in links.items() if c[:5] == group and c != code for t in ts})
    )


def _refuse_unexplained(
    old: str, new: str, links: dict[str, dict[str, str]], subheadings: dict[str, dict[str, str]]
) -> None:
    odd = [
        code
        for code, targets in links.items()
        if code in subheadings[new] and len(targets) > 1 and code not in targets
        and (old, code) not in PATCHES
    ]
    if odd:
        raise SystemExit(
            f"HS{old} codes valid in HS{new}, linked to several codes but not to themselves "
            f"and not patched: {sorted(odd)}; decide and add them to PATCHES"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args()
    files = build(args.source or _default_source())
    stale = [n for n, data in files.items() if not (TARGET / n).is_file()
             or (TARGET / n).read_bytes() != data]
    if args.check:
        if stale:
            print(f"stale: {', '.join(stale)}; run python scripts/build_hs_editions.py")
            return 1
        print("HS edition tables are up to date")
        return 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (TARGET / name).write_bytes(data)
        print(f"wrote {TARGET / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

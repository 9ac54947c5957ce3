"""Integer-keyed history for batch scoring: sorted arrays and binary search instead of joins.

:class:`KeyedHistory` holds, per history group, the fitted cumulative state as sorted ``int64``
composite keys (``key code × span + day offset``) with aligned cumulative sums. The key code of
a group is computed from per-column integer codes (a pair multiplies the first code by the size
of the second column's vocabulary), so a batch encodes each source column **once** (one join
against a small vocabulary) instead of building and joining a text key per group.

Look-ups for rows dated after the fitted history (sorted by date) are then, per group, one
argsort of the batch's own keys and two binary searches with sorted needles: the key's totals
(last state row of the key) and its cumulative sums strictly before the window's start.
The values are the same as the as-of joins of :func:`~clearlane.features.history.asof_sums`;
tests compare both paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.catalog import GROUPS_BY_NAME
from clearlane.features.history import ALL_GROUP, SENTINEL_DAY, WINDOWED, needed_sums

_CODE = "_code"
_MAX_COMPOSITE = 2**62


@dataclass(frozen=True)
class KeyedGroup:
    """One history group: sorted composite keys and the cumulative sums on those rows."""

    columns: tuple[str, ...]
    composite: np.ndarray
    cumulative: dict[str, np.ndarray]


@dataclass(frozen=True)
class KeyedHistory:
    """Integer-keyed cumulative history of every group (see the module docstring).

    ``vocab`` maps each key column to a frame (value, ``_code``); ``span`` is the number of day
    offsets per key (days of the fitted history + 2) and ``start`` its first day.
    """

    start: date
    span: int
    vocab: dict[str, pl.DataFrame]
    sizes: dict[str, int]
    groups: dict[str, KeyedGroup]
    _codes: dict[str, dict[str, int]] = field(default_factory=dict, compare=False, repr=False)

    def record_codes(self, row: Mapping[str, object]) -> dict[str, int | None]:
        """Per key column, the code of one prepared declaration's value (``None``: null or
        not in the fitted history). The value → code dictionaries are built on first use:
        one entry per distinct value of a key column, not per key and day."""
        out: dict[str, int | None] = {}
        for column, vocab in self.vocab.items():
            codes = self._codes.get(column)
            if codes is None:
                codes = dict(zip(vocab[column].to_list(), vocab[_CODE].to_list(), strict=True))
                self._codes[column] = codes
            value = row.get(column)
            out[column] = None if value is None else codes.get(str(value))
        return out

    def record_sums(self, name: str, codes: Mapping[str, int | None], day: int,
                    window: int | None) -> dict[str, float]:
        """The sums of group ``name`` strictly before day number ``day`` (after the fitted
        history) for one declaration with key ``codes`` (:meth:`record_codes`): the same
        values as :meth:`group_sums` gives a batch of that one row. ``first_day`` (importer
        group only) is the key's first day number (NaN when unknown)."""
        group = self.groups[name]
        out = dict.fromkeys(needed_sums(name), 0.0)
        importer = name == "importer"
        if importer:
            out["first_day"] = np.nan
        key = 0
        for column in group.columns:
            code = codes.get(column)
            if code is None:
                return out
            key = key * self.sizes[column] + code
        composite = group.composite
        base = key * self.span
        last = int(np.searchsorted(composite, base + self.span)) - 1
        if composite[last] < base:
            return out
        before = 0
        if window:
            # clamped to the key's range: a window starting after the history holds none of it
            start_offset = min(max(day - window - _day_number(self.start), 0), self.span)
            at = int(np.searchsorted(composite, base + start_offset)) - 1
            before = at if composite[at] >= base else 0
        for c in out:
            if c == "first_day":
                continue
            cumulative = group.cumulative[c]
            total = float(cumulative[last])
            if window and c in WINDOWED:
                total -= float(cumulative[before])
            out[c] = total
        if importer:
            first = int(composite[int(np.searchsorted(composite, base))]) - base
            out["first_day"] = float(first + _day_number(self.start))
        return out

    def encode(self, prep: pl.DataFrame) -> dict[str, tuple[np.ndarray, int]]:
        """Per key column: ``int64`` codes (fitted values < size, unseen values distinct codes
        ≥ size, null −1) and the size including the unseen values."""
        out: dict[str, tuple[np.ndarray, int]] = {}
        for column, vocab in self.vocab.items():
            values = prep.select(column)
            codes = values.join(vocab, on=column, how="left", maintain_order="left")[_CODE]
            array = codes.fill_null(-1).to_numpy().astype(np.int64, copy=True)
            size = self.sizes[column]
            unseen = (array < 0) & values[column].is_not_null().to_numpy()
            extended = size
            if unseen.any():
                ranks = values[column].filter(pl.Series(unseen)).rank("dense").to_numpy()
                array[unseen] = size + ranks.astype(np.int64) - 1
                extended = size + int(ranks.max())
            out[column] = (array, extended)
        return out

    def group_sums(self, name: str, codes: Mapping[str, tuple[np.ndarray, int]],
                   day: np.ndarray, window: int | None, batch: Mapping[str, np.ndarray],
                   ) -> dict[str, np.ndarray]:
        """Sums strictly before each row's day for group ``name`` (rows sorted by day; ``day``
        as integer day numbers), in row order: the fitted history (windowed sums over the
        window) plus the batch's own rows of the same key on earlier days. ``first_day`` is
        the key's first day (NaN when unknown) for the importer group.

        Everything is computed once per *run* (one key on one day: rows that share all their
        sums) and then spread to the rows with one gather per sum.
        """
        group = self.groups[name]
        n = len(day)
        lookup, grouping = self._keys(group.columns, codes, n)
        first_batch_day = int(day[0])
        batch_day = day - first_batch_day
        if group.columns:
            runs_key = grouping * (int(batch_day[-1]) + 1) + batch_day
            order = np.argsort(runs_key)
            sorted_key = runs_key[order]
        else:  # one key: the rows are already in day order
            order = np.arange(n)
            sorted_key = batch_day
        run_start = np.empty(n, dtype=bool)
        run_start[0] = True
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=run_start[1:])
        run_rows = np.flatnonzero(run_start)  # sorted positions of each run's first row
        run_of_sorted = np.cumsum(run_start) - 1
        run_of_row = np.empty(n, dtype=np.int64)
        run_of_row[order] = run_of_sorted
        first_rows = order[run_rows]
        run_group = grouping[first_rows]
        run_lookup = lookup[first_rows]
        run_day = batch_day[first_rows]
        n_runs = len(run_rows)
        # rows without a key are keys of their own: they add nothing
        key_start = run_group < 0
        key_start[0] = True
        key_start[1:] |= run_group[1:] != run_group[:-1]
        key_first = np.maximum.accumulate(np.arange(n_runs) * key_start)
        # State arrays start with a zero row (index 0) that every miss points to.
        span = self.span
        composite = group.composite
        base = run_lookup * span
        last = np.searchsorted(composite, base + span) - 1
        known = composite[last] >= base
        known &= run_lookup >= 0
        last *= known
        before = last
        if window:
            # the window starts at day − window: the sums before it are the last state row
            # of the key strictly before that day (none when it precedes the history)
            start_offset = np.maximum(
                run_day + (first_batch_day - window - _day_number(self.start)), 0)
            before = np.searchsorted(composite, base + start_offset) - 1
            in_window = composite[before] >= base
            in_window &= known
            before *= in_window
        out: dict[str, np.ndarray] = {}
        for c in needed_sums(name):
            cumulative = group.cumulative[c]
            total = cumulative[last]
            if window and c in WINDOWED:
                total -= cumulative[before]
            if c == "n":
                total += run_rows - run_rows[key_first]
            elif c in batch:
                x = batch[c][order]
                exclusive = np.cumsum(x)
                exclusive -= x
                at_run = exclusive[run_rows]
                total += at_run - at_run[key_first]
            out[c] = total[run_of_row]
        if name == "importer":
            first_offset = composite[np.minimum(np.searchsorted(composite, base),
                                                len(composite) - 1)] - base
            first = np.where(known, first_offset + _day_number(self.start), np.inf)
            batch_first = run_day[key_first]
            first = np.fmin(first, np.where(batch_first < run_day,
                                            batch_first + first_batch_day, np.inf))
            out["first_day"] = np.where(np.isfinite(first), first, np.nan)[run_of_row]
        return out

    def _keys(self, columns: Sequence[str], codes: Mapping[str, tuple[np.ndarray, int]],
              n: int) -> tuple[np.ndarray, np.ndarray]:
        """Look-up key (−1 when not in the fitted vocabulary) and grouping key (−1 when null)."""
        if not columns:
            zeros = np.zeros(n, dtype=np.int64)
            return zeros, zeros
        if len(columns) == 1:
            code, _ = codes[columns[0]]
            return np.where(code < self.sizes[columns[0]], code, -1), code
        lookup = np.zeros(n, dtype=np.int64)
        grouping = np.zeros(n, dtype=np.int64)
        fitted = np.ones(n, dtype=bool)
        for column in columns:
            code, extended = codes[column]
            size = self.sizes[column]
            lookup *= size
            lookup += code
            grouping *= extended
            grouping += code
            fitted &= code < size
            fitted &= code >= 0
        present = np.ones(n, dtype=bool)
        for column in columns:
            present &= codes[column][0] >= 0
        return np.where(fitted, lookup, -1), np.where(present, grouping, -1)


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def build_keyed_history(state: Mapping[str, pl.DataFrame], start: date, end: date
                        ) -> KeyedHistory:
    """Integer-keyed copy of the fitted cumulative ``state`` (one frame per group, text keys
    joined by ``\\x1f``) covering days ``start`` … ``end``."""
    span = (end - start).days + 2
    frames: dict[str, pl.DataFrame] = {}
    for name, frame in state.items():
        columns = GROUPS_BY_NAME[name].columns if name != ALL_GROUP.name else ()
        real = frame.filter(pl.col("day") > SENTINEL_DAY)
        if len(columns) > 1:
            parts = pl.col("key").str.split_exact("\x1f", len(columns) - 1)
            real = real.with_columns(
                parts.struct.field(f"field_{i}").alias(column)
                for i, column in enumerate(columns)
            )
        elif columns:
            real = real.with_columns(pl.col("key").alias(columns[0]))
        frames[name] = real
    vocab: dict[str, pl.DataFrame] = {}
    for name, real in frames.items():
        for column in GROUPS_BY_NAME[name].columns if name != ALL_GROUP.name else ():
            values = real.select(pl.col(column).unique())
            vocab[column] = values if column not in vocab else pl.concat(
                [vocab[column], values]).unique()
    for column, values in vocab.items():
        vocab[column] = values.sort(column).with_row_index(_CODE).select(
            column, pl.col(_CODE).cast(pl.Int64))
    sizes = {column: frame.height for column, frame in vocab.items()}
    groups: dict[str, KeyedGroup] = {}
    start_number = _day_number(start)
    for name, real in frames.items():
        columns = GROUPS_BY_NAME[name].columns if name != ALL_GROUP.name else ()
        key = np.zeros(real.height, dtype=np.int64)
        capacity = span
        for column in columns:
            code = real.select(column).join(vocab[column], on=column, how="left",
                                            maintain_order="left")[_CODE].to_numpy()
            key = key * sizes[column] + code
            capacity *= sizes[column]
        if capacity >= _MAX_COMPOSITE:
            raise ValidationError(
                f"history group {name!r} has too many keys for 64-bit look-ups "
                f"({capacity:,} composite values); use fewer history groups"
            )
        offset = real["day"].cast(pl.Int64).to_numpy() - start_number
        composite = key * span + offset
        order = np.argsort(composite, kind="stable")
        # a leading row below every key, with zero sums: where every look-up miss points
        floor = np.array([np.iinfo(np.int64).min], dtype=np.int64)
        cumulative = {c: np.concatenate([[0.0], real[f"c_{c}"].to_numpy()[order]])
                      for c in needed_sums(name)}
        groups[name] = KeyedGroup(columns, np.concatenate([floor, composite[order]]),
                                  cumulative)
    return KeyedHistory(start, span, vocab, sizes, groups)

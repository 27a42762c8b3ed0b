"""Maps in Erlang term order, as ``elixir`` hands them over."""

from __future__ import annotations

import functools

from ..project import map_key
from ..terms import Atom, Regex

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any


def make_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """A dict from key/value pairs, later keys winning, ordered like a small
    Erlang map (keys in term order), which is how ``elixir`` hands it over."""
    merged: dict[Any, tuple[Any, Any]] = {}
    for key, value in pairs:
        merged[map_key(key)] = (key, value)
    ordered = sorted(merged.values(), key=lambda kv: erlang_sort_key(kv[0]))
    return {map_key(k): v for k, v in ordered}


def _rank(value: Any) -> int:
    if value is None or isinstance(value, (bool, Atom)):
        return 1
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, tuple):
        return 6
    if isinstance(value, (dict, Regex)):
        return 7
    if isinstance(value, list):
        return 8
    return 9  # binaries


def _compare(a: Any, b: Any) -> int:
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        return (a > b) - (a < b)
    if ra == 1:
        sa, sb = _atom_text(a), _atom_text(b)
        return (sa > sb) - (sa < sb)
    if ra == 6:
        if len(a) != len(b):
            return -1 if len(a) < len(b) else 1
        return _compare_seq(a, b)
    if ra == 7:
        da = a if isinstance(a, dict) else {"source": a.source, "opts": a.options}
        db = b if isinstance(b, dict) else {"source": b.source, "opts": b.options}
        if len(da) != len(db):
            return -1 if len(da) < len(db) else 1
        ka = sorted(da, key=erlang_sort_key)
        kb = sorted(db, key=erlang_sort_key)
        return _compare_seq(ka, kb) or _compare_seq([da[k] for k in ka], [db[k] for k in kb])
    if ra == 8:
        return _compare_seq(a, b)
    ba = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return (ba > bb) - (ba < bb)


def _compare_seq(a: Any, b: Any) -> int:
    for x, y in zip(a, b, strict=False):
        c = _compare(x, y)
        if c:
            return c
    return (len(a) > len(b)) - (len(a) < len(b))


def _atom_text(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str.__str__(value)


erlang_sort_key = functools.cmp_to_key(_compare)

"""``hexpack.records.Record``: the value semantics the dataclasses it replaced gave (equality, hash, repr,
``replace``), so code comparing or showing read values behaves as before."""

from __future__ import annotations

from hexpack.mix.project import Dep
from hexpack.mix.static.syntax import Attr, Code
from hexpack.mix.terms import Regex
from hexpack.records import Record


class _Point(Record):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int = 0):
        self.x = x
        self.y = y


class _Other(Record):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int = 0):
        self.x = x
        self.y = y


def test_equal_by_fields_and_class():
    assert _Point(1, 2) == _Point(1, 2)
    assert _Point(1, 2) != _Point(1, 3)
    assert _Point(1, 2) != _Other(1, 2)
    assert hash(_Point(1, 2)) == hash(_Point(1, 2))
    assert {_Point(1, 2), _Point(1, 2)} == {_Point(1, 2)}


def test_repr_and_replace_as_dataclasses_give_them():
    assert repr(_Point(1, "a")) == "_Point(x=1, y='a')"
    moved = _Point(1, 2).replace(y=5)
    assert moved == _Point(1, 5) and type(moved) is _Point
    assert repr(Dep("jason", "~> 1.4")) == "Dep(name='jason', requirement='~> 1.4', opts=[])"


def test_a_cache_slot_is_neither_compared_nor_shown():
    compiled = Regex("a+", "i")
    assert compiled.search("AA")  # fills the cache
    assert compiled == Regex("a+", "i")
    assert repr(compiled) == "Regex(source='a+', options='i')"


def test_a_cycle_is_shown_without_recursing_forever():
    attrs: dict[str, Attr] = {}
    code = Code([], 0, 0, attrs)
    attrs["version"] = Attr("version", 1, code)
    assert "..." in repr(code)

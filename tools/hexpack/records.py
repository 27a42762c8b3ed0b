"""Small value classes without ``dataclasses``: equality, hash, repr and ``replace`` from the fields they name.

``import dataclasses`` loads ``inspect`` (with ast, dis and tokenize), and every class it makes compiles
generated source when its module is imported: on the path of ``hexpack build`` the 26 such classes and
the import cost a snakepit build about 140M of its 690M instructions before the first file was read.
A class on that path lists its fields in ``__slots__`` (in order), writes its own ``__init__`` taking
them by those names, and inherits the rest from :class:`Record`. Fields are not reassigned after
``__init__`` by convention, as the frozen dataclasses they replace enforced.
"""

from __future__ import annotations

from reprlib import recursive_repr

__all__ = ["Record"]


class Record:
    """Compared, hashed and shown by the fields in ``__slots__`` (or ``_fields``, when some slots are a cache)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()  # the compared fields when not every slot is one

    def _names(self) -> tuple[str, ...]:
        return self._fields or self.__slots__

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    @recursive_repr()  # a cycle (an attribute whose code refers to it) shows as "..." as dataclasses do
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names())
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: object) -> Record:
        """A copy with ``changes`` applied, as ``dataclasses.replace`` makes it."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)

"""Read ``mix.exs`` without Elixir, for the shapes that are plain data.

A small tokenizer and recursive-descent evaluator for the literal subset of
Elixir that ``mix.exs`` files are mostly written in: keyword lists, lists,
tuples, maps, strings (heredocs and interpolation included), charlists, atoms,
aliases, numbers, booleans and nil; the sigils ``~w ~W ~s ~S ~c ~C ~r ~R``
with any delimiter; ``@attr`` module attributes; ``++`` and ``<>`` between
literals; zero-arity ``def``/``defp`` functions returning such data (including
``project/0`` itself), plain variable bindings inside them, and ``if``/``unless``
(with a ``do`` block, ``do:``/``else:`` keywords, or as a call ``if(c, do: a, else: b)``)
whose condition it evaluates exactly (in the module body and in functions);
``Mix.env/0`` as ``mix hex.build`` sees it and the calls ``builtins`` lists.

Anything else (a remote call such as ``File.read!/1``, a pipe, ``case``, a
function with arguments, ...) is refused with a
``ProjectError`` naming the line: the reader never guesses. Definitions are
evaluated lazily, so an unsupported expression only blocks the read when
packaging needs its value: a top-level key of ``project/0`` that packaging never
reads (``elixirc_paths: elixirc_paths(Mix.env())``, ``docs:``) is kept as an
``Unreadable`` value instead of stopping the read.

The reader works in stages, one module each: ``tokens`` (text to tokens),
``syntax`` (statements, blocks and definitions kept as token slices),
``evaluation`` (a slice to a value, on demand), with ``values`` (``Unreadable``,
``to_string``, sigils), ``operators``, ``ordering`` (maps in Erlang term
order) and ``builtins`` (the calls it can compute); ``reader`` walks the
modules of mix.exs and holds the entry points, and ``written`` says where
project/0's plain string values are written (for ``hexpack bump``).
"""

from .ordering import erlang_sort_key, make_map
from .reader import HINT, PACKAGING_KEYS, StaticRead, StaticReader, evaluate_source, read_config, read_statically
from .values import Unreadable, has_unreadable

__all__ = [
    "HINT",
    "PACKAGING_KEYS",
    "StaticRead",
    "StaticReader",
    "Unreadable",
    "erlang_sort_key",
    "evaluate_source",
    "has_unreadable",
    "make_map",
    "read_config",
    "read_statically",
]

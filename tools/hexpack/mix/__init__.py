"""Reading ``mix.exs``: one entry (``readers.read_project``), one interface (``project.MixReader``), two engines.

``elixir`` asks the real Elixir; ``static`` reads without a BEAM (a package by
stage: tokens, syntax, evaluation). ``project`` holds what both return
(``MixProject``) and ``terms`` the Python stand-ins for Elixir values. The
engines import ``project`` and ``terms``; only ``readers`` imports the engines.
"""

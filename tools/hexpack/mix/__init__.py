"""Reading ``mix.exs``: one interface (``project``), two engines (``elixir``: the real Elixir; ``static``: no BEAM).

``terms`` holds the Python stand-ins for the Elixir values both engines return.
"""

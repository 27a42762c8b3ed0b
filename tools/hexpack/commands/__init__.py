"""One module per ``hexpack`` subcommand: ``HELP``, ``configure``, ``run``.

Commands are thin: they parse arguments, call the library and format what it
returns through ``Output``.
"""

"""The Hex side: which files a package holds, its metadata, the tarball, and the built-in ``mix hex.build``.

``selection`` picks the files, ``metadata`` builds ``metadata.config`` under the rules of ``rules``,
``erlterm`` writes Erlang terms, ``tarball`` writes and safely reads Hex's format 3, ``pipeline``
compresses ``contents.tar.gz`` on a second thread while ``build``, which ties them together, checks
the package; ``diff`` compares two packages, ``install`` finds an installed Hex.
"""

"""One version everywhere: SemVer and PEP 440 (``versions``), where a project writes it (``places``), the
changelog (``changelog``) and the all-or-nothing bump (``bump``)."""

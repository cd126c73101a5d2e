"""Code behind ``example.py`` (not part of the installed package)."""

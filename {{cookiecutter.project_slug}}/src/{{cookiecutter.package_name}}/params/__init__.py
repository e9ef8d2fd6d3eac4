"""params.yaml, one module per section (params/<stage>.py), read through the one strict loader
(params/loader.py); `python -m PACKAGE.params` checks the whole file (params/sections.py)."""

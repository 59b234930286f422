"""Interactive phases in the worker: static click files, the closed loop, per-click scoring.

The protocols' file names are in :mod:`worker.interactive.protocol`; the stages
an evaluation calls are in :mod:`worker.interactive.stages`.
"""

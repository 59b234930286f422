"""The single-process composition of Podium (API + in-process worker) and its demo.

Lives outside ``backend`` and ``worker`` because it is the one place that joins
them: the backend may not import the worker, and the worker may not import the
web layer (see the import-linter contracts in pyproject.toml).
"""

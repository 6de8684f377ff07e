"""Errors the core raises for bad input, one class per condition.

A message states what was found, where (file, line, column) and how to fix it. The command line
prints it as one line on stderr with a non-zero exit; the pages show it with st.error.
"""


class WorkbenchError(Exception):
    pass


class BadInput(WorkbenchError):
    """A file or a value the user gave cannot be used as it is."""


class MissingData(WorkbenchError):
    """A step needs something that is not there yet (no catalog, no accepted samples)."""


class ModelUnavailable(WorkbenchError):
    """A model name or path that cannot be loaded offline."""

"""Storage errors, one class per condition. Messages say what, where, and how to fix it."""


class StorageError(Exception):
    pass


class DatabaseBusy(StorageError):
    """Another process held the database file for longer than the retry window."""


class DatabaseUnavailable(StorageError):
    """The database cannot be opened or written: missing folder, read-only, disk full."""


class SchemaTooNew(StorageError):
    """The file was written by a newer workbench."""


class NotFound(StorageError):
    """A dataset, sample set, run or job id that does not exist."""

"""User-facing errors.

Every error a user can cause (a bad file, an unknown name, missing data) is raised as an :class:`NbenchError`
subclass whose message is a single line naming the file/key, what was expected and what was found. The CLI prints
that line and exits with code 2, without a traceback.
"""

from __future__ import annotations


class NbenchError(Exception):
    """Base class for errors caused by user input; the message is one line."""

    exit_code = 2


class ValidationError(NbenchError):
    """A submission, target file, config or record does not match what is expected."""


class DataError(NbenchError):
    """A dataset is missing, corrupt, or of the wrong kind."""


class UnknownNameError(NbenchError):
    """A task, model or dataset name is not registered."""


class ConfigError(NbenchError):
    """A model or run configuration is invalid."""


class OutputError(NbenchError):
    """An output file or folder cannot be written (permissions, read-only file system, name too long)."""

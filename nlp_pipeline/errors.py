"""Exceptions that name what was wrong and where."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for errors the tool reports to users."""


class ConfigError(PipelineError):
    """A bad feeds.yaml or setting; the message names the file and the field."""


class FetchError(PipelineError):
    """A URL or file could not be fetched; the message names it."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        # The HTTP status when the server answered with an error status.
        self.status = status


class FeedParseError(PipelineError):
    """A feed or page could not be parsed; the message names it."""


class StoreError(PipelineError):
    """The store could not be opened or written, or a question to it was malformed."""


class StoreAccessError(StoreError):
    """The store could not be opened, or a query on it failed: not the asker's input at fault
    (the HTTP API answers 500)."""


class NotFoundError(StoreError):
    """What was asked for is not in the store (the HTTP API answers 404)."""


class InputError(PipelineError):
    """Some input could not be processed (binary data, a bad line); the message names it.
    The CLI exits with status 1 for these, 2 for other errors (usage and configuration)."""

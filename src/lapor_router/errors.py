"""Every exception lapor_router raises on purpose. All derive from :class:`LaporRouterError`."""

from __future__ import annotations

from pathlib import Path


class LaporRouterError(Exception):
    """Base class of lapor_router's errors."""


class BoundaryError(LaporRouterError):
    """A boundary file or frame cannot be used. Nothing from it was loaded."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class AssetLayerError(BoundaryError):
    """An asset layer (roads, rivers, rail...) cannot be used: unreadable, a missing column,
    a wrong or invalid geometry, an unknown CRS, duplicate ids. Nothing from it was loaded."""


class DataError(LaporRouterError):
    """Boundary data provisioning failed (missing, unknown or corrupted files)."""


class DataNotInstalledError(DataError):
    """The boundary files a Router needs are not in the data directory."""


class ChecksumError(DataError):
    """A file's sha256 differs from the one recorded in the manifest."""

    def __init__(self, path: str | Path, expected: str, actual: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path}: sha256 {actual} does not match the manifest's {expected}; "
            "the file is corrupted or is not the release this version of lapor_router knows"
        )


class CoordinateError(LaporRouterError, ValueError):
    """Coordinate arrays cannot be paired (different lengths) or a CRS is unknown."""


class RuleError(LaporRouterError):
    """A rule file is malformed or inconsistent. Nothing from the rule set was loaded."""

    def __init__(self, source: str | Path, where: str, problem: str) -> None:
        self.source = str(source)
        self.where = where
        self.problem = problem
        location = f"{self.source}: {where}" if where else self.source
        super().__init__(f"{location}: {problem}")


class RoutingError(LaporRouterError, ValueError):
    """A routing call got something it cannot work with (e.g. a decision from another rule set)."""


class BatchError(LaporRouterError):
    """A report file cannot be processed at all (unknown format, unreadable header, a resume
    that does not match the interrupted run)."""


class NothingToResumeError(BatchError):
    """A resume was asked for, but the output has no interrupted run to continue (no
    checkpoint in ``OUTPUT.parts/``). Nothing was routed or written."""

    def __init__(self, output: str | Path, complete: bool = False) -> None:
        self.output = str(output)
        self.complete = complete
        hint = (
            f"{self.output} is complete; run without --resume to route it again"
            if complete
            else "run without --resume to start one"
        )
        super().__init__(f"nothing to resume: no interrupted run of {self.output} ({hint})")


class PrivacyWarning(UserWarning):
    """Personal data may reach a unit unmasked (e.g. private rows but no reporter column)."""


class ModelError(LaporRouterError):
    """A category model file cannot be used (missing, damaged, another format version, or
    trained for other categories), or a model cannot be trained."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class StatsError(LaporRouterError, ValueError):
    """Responsiveness figures cannot be computed: an unknown grouping, or a table without
    the columns they need."""


class StoreError(LaporRouterError):
    """The report store cannot be used (unreachable database, unknown URL scheme)."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this lapor_router knows: it refuses to touch it."""

    def __init__(self, url: str, found: int, known: int) -> None:
        self.url = url
        self.found = found
        self.known = known
        super().__init__(
            f"{url}: schema version {found} is newer than this lapor_router's {known}; "
            "upgrade lapor_router (the database was written by a newer release)"
        )


class RequestError(LaporRouterError, ValueError):
    """A service request that cannot be carried out; ``status`` is its HTTP code (400 bad
    input, 401 no or wrong token, 403 another unit's report, 404 unknown, 409 a conflict
    with the report's state, 413 too large, 415 unknown body type)."""

    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description
        super().__init__(f"{status}: {description}")

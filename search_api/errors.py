"""The project's own errors, every class of them. A TradepointError carries an HTTP status and a
code (one handler renders them); the command line prints a CliError and exits with 2."""

from __future__ import annotations


class TradepointError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class BadRequest(TradepointError):
    status_code = 400
    code = "bad_request"


class InvalidParameter(BadRequest):
    """A request parameter or field a person gave is wrong; the message names it."""

    code = "invalid_parameter"


class NotFound(TradepointError):
    status_code = 404
    code = "not_found"


class Unauthorized(TradepointError):
    status_code = 401
    code = "unauthorized"


class Forbidden(TradepointError):
    status_code = 403
    code = "forbidden"


class Conflict(TradepointError):
    status_code = 409
    code = "conflict"


class Gone(TradepointError):
    """It existed and was ended on purpose (an unsubscribed feed, an expired link)."""

    status_code = 410
    code = "gone"


class TooManyRequests(TradepointError):
    status_code = 429
    code = "too_many_requests"


class MailNotConfigured(TradepointError):
    status_code = 503
    code = "email_unavailable"


class MailError(TradepointError):
    status_code = 503
    code = "email_failed"


class RecordInvalid(TradepointError):
    """A stored record that no longer validates; its owner or an admin can replace or delete it."""

    status_code = 409
    code = "record_invalid"


class SearchUnavailable(TradepointError):
    """The search backend cannot answer; the system of record still holds every record."""

    status_code = 503
    code = "search_unavailable"


class InvalidBody(TradepointError):
    """A request body (a source, a record, a form) that cannot be accepted; the message names
    the field. The same code as the app's answer to a body that does not parse."""

    status_code = 422
    code = "invalid_parameter"


class SchemaMismatch(TradepointError):
    """The database has our tables, no migration history, and differs from the models."""

    code = "schema_mismatch"


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""

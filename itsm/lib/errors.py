"""Domain errors. Services raise these; the API's exception handler and the UI views turn them into a
4xx answer with the message, never a 500."""


class DomainError(Exception):
    """A request that the rules refuse. `status_code` is what the API answers."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, details: dict | list | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The object changed since the caller read it (stale version), or a concurrent writer won."""

    status_code = 409
    code = "conflict"

"""What the registry's service refuses, as ``SrnskitError`` subclasses (``errors.py``'s
hierarchy: each exits 1 on the command line) carrying the HTTP status the API answers with
(registry.md §2): 404 a patient or row the user cannot see or that does not exist (the same
answer, so existence is not revealed), 403 an action the role does not allow, 409 an id that
exists already (without saying in which centre). Invalid data is ``InvalidCohortError`` (422).
"""

from __future__ import annotations

from srnskit.errors import InvalidInputError, SrnskitError

__all__ = ["ConflictError", "ForbiddenError", "NotFoundError", "RegistryError", "WeakPasswordError"]


class RegistryError(SrnskitError):
    """Root of the registry's refusals; ``http_status`` is the API's answer."""

    exit_code = 1
    http_status = 400


class NotFoundError(RegistryError, LookupError):
    """No such patient, row or user among those the user may see (HTTP 404)."""

    http_status = 404


class ForbiddenError(RegistryError, PermissionError):
    """The user's role does not allow the action, or not in that centre (HTTP 403)."""

    http_status = 403


class ConflictError(RegistryError):
    """The id or name exists already (HTTP 409)."""

    http_status = 409


class WeakPasswordError(RegistryError, InvalidInputError):
    """A password shorter than ``users.MIN_PASSWORD_LENGTH`` characters (HTTP 422)."""

    http_status = 422

"""The exceptions the core raises and apps catch or raise themselves.

isms/api/errors.py turns them into 400s (WorkflowError is a ValidationError; an
ImmutableRecordError says what may not be changed); pages show their messages.
"""

from django.core.exceptions import ValidationError


class WorkflowError(ValidationError):
    """The action is not possible in the record's current state."""


class ImmutableRecordError(Exception):
    """Raised on any attempt to change or delete a record that proves compliance."""

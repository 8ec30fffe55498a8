from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest


def current_user(request: HttpRequest) -> User:
    """The signed-in user. Login is required everywhere by middleware; this makes it typed."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user


def apply_errors(form: Any, error: ValidationError) -> None:
    """A service's ValidationError onto the form that called it: each message on its field,
    or on the form as a whole when the field is not one of the form's."""
    for field, messages_ in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages_:
            form.add_error(target, message)

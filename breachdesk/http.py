from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def current_user(request: HttpRequest) -> User:
    """The signed-in user. Login is required everywhere by middleware; this makes it typed."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user

"""The sign-in backends: Django's and allauth's, reading the signed-in user with one
statement compiled once per process (papers.compiled).

Every signed-in request reads its user (django.contrib.auth.get_user calls the
backend's get_user). Through the ORM that took ~1.6 ms of CPU in process on the
benchmark machine, more than a vote's own statement; the same SELECT sent through a
cursor ~0.3 ms. How people sign in (passwords, allauth's email login) is unchanged.
Sessions written before these backends name the old ones: accounts.sessions maps them.
"""

import functools

from allauth.account import auth_backends
from django.contrib.auth import backends, get_user_model
from django.core.exceptions import ValidationError

from papers.compiled import CompiledQuery

_USER_ID = -17  # the stand-in for the user's id in the compiled query


@functools.cache
def _user_query():
    return CompiledQuery(get_user_model()._default_manager.filter(pk=_USER_ID), {_USER_ID: "pk"})


def read_user(user_id):
    """The user with primary key `user_id` (as a session keeps it, a string), or None."""
    User = get_user_model()
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    found = _user_query().objects(pk=pk)
    return found[0] if found else None


class UserByStatement:
    def get_user(self, user_id):
        user = read_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(UserByStatement, backends.ModelBackend):
    """Django's ModelBackend (passwords), reading the session's user by read_user."""


class AuthenticationBackend(UserByStatement, auth_backends.AuthenticationBackend):
    """allauth's backend (email or username and password), reading the session's user by
    read_user."""

"""Sessions and the signed-in user read by one statement each (accounts.sessions,
accounts.backends): the same answers as Django's own ORM reads, in fewer CPU cycles."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.backends import read_user
from accounts.sessions import SessionStore

from .accounts_helpers import PASSWORD, verified
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def _session_of(user, backend, store=DjangoSessionStore):
    """A signed-in session as Django's own database backend writes it."""
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _signed_in_as(client, key):
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client.get("/settings/").status_code == 200


@pytest.mark.parametrize(
    "backend",
    [
        "django.contrib.auth.backends.ModelBackend",
        "allauth.account.auth_backends.AuthenticationBackend",
        "accounts.backends.AuthenticationBackend",
    ],
)
def test_a_session_written_before_the_change_still_signs_its_user_in(client, backend):
    # Sessions name the backend that signed their user in; the older names are read as
    # the backends that replace them, so an upgrade signs nobody out.
    user = verified(UserFactory())
    assert _signed_in_as(client, _session_of(user, backend))


def test_an_expired_or_unknown_session_signs_nobody_in(client):
    user = verified(UserFactory())
    key = _session_of(user, "accounts.backends.ModelBackend")
    DjangoSessionStore.get_model_class().objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    assert not _signed_in_as(client, key)
    assert not _signed_in_as(client, "x" * 32)
    store = SessionStore("y" * 32)
    assert store.load() == {} and store.session_key is None


def test_the_store_reads_what_djangos_wrote_and_django_reads_what_it_wrote():
    ours = SessionStore()
    ours["answer"] = [42, "forty-two"]
    ours.create()
    assert DjangoSessionStore(ours.session_key).load()["answer"] == [42, "forty-two"]
    theirs = DjangoSessionStore()
    theirs["answer"] = {"a": 1}
    theirs.create()
    assert SessionStore(theirs.session_key).load()["answer"] == {"a": 1}


def test_a_deactivated_or_deleted_user_is_signed_out(client):
    user = verified(UserFactory())
    key = _session_of(user, "accounts.backends.ModelBackend")
    assert _signed_in_as(client, key)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert not _signed_in_as(client, key)
    other = verified(UserFactory())
    key = _session_of(other, "accounts.backends.ModelBackend")
    other.delete()
    assert not _signed_in_as(client, key)


def test_changing_the_password_elsewhere_signs_this_session_out(client):
    # Django still checks the session's hash against the user read by the statement.
    user = verified(UserFactory())
    key = _session_of(user, "accounts.backends.ModelBackend")
    assert _signed_in_as(client, key)
    user.set_password(PASSWORD + " changed")
    user.save()
    assert not _signed_in_as(client, key)


def test_the_user_read_by_the_statement_is_the_user_the_orm_reads():
    user = verified(UserFactory(display_name="Ada L."))
    read = read_user(str(user.pk))
    fresh = type(user).objects.get(pk=user.pk)
    for field in type(user)._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(fresh, field.attname), field.name
    assert read_user("not a number") is None and read_user(str(user.pk + 1000)) is None


def test_a_signed_in_request_reads_its_session_and_user_with_a_query_each(client):
    user = verified(UserFactory())
    client.force_login(user)
    client.get("/settings/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/settings/")
    sql = [q["sql"] for q in queries]
    assert sum('FROM "django_session"' in q for q in sql) == 1
    assert sum(q.startswith("SELECT") and 'FROM "accounts_user"' in q for q in sql) == 1

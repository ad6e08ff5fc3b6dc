"""Shared fixtures: people in each role, organizations, and the rules for tests that need real services.

A test marked `postgres` needs PostgreSQL (DATABASE_URL=postgres://...), one marked `redis` needs Redis
(REDIS_URL=redis://...). Outside CI such a test is skipped with the reason; with CI=true it fails instead,
so CI can never pass by skipping."""

import os

import pytest
from django.conf import settings as django_settings
from django.db import connection

from accounts.roles import Role, roles_sync
from itsm.celery import app as celery_app
from tests.factories import OrganizationFactory, ResolverGroupFactory, ServiceFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("this test needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    if request.node.get_closest_marker("redis") and not django_settings.REDIS_URL:
        _missing("this test needs Redis: set REDIS_URL=redis://host:6379/0")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Production settings, minus what needs a TLS proxy or a collectstatic run in front of them."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # a quarter of a second per user with the production hasher: the tests create hundreds of users
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session", autouse=True)
def _celery_eager():
    """Tasks queued after commit run inline in tests; tests of the real worker switch this off."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture
def roles(db):
    roles_sync()  # the groups come from a data migration; a transactional test's flush removes them


@pytest.fixture
def org_a(db):
    return OrganizationFactory(name="Acme", slug="acme", email_domains=["acme.example"])


@pytest.fixture
def org_b(db):
    return OrganizationFactory(name="Globex", slug="globex", email_domains=["globex.example"])


@pytest.fixture
def desk(roles):
    return UserFactory(username="desk", roles=[Role.SERVICE_DESK])


@pytest.fixture
def manager(roles):
    return UserFactory(username="manager", roles=[Role.SERVICE_MANAGER])


@pytest.fixture
def group(db):
    return ResolverGroupFactory(name="Infrastructure", slug="infrastructure")


@pytest.fixture
def resolver(roles, group):
    user = UserFactory(username="resolver", roles=[Role.RESOLVER])
    group.memberships.create(user=user)
    return user


@pytest.fixture
def service(group):
    return ServiceFactory(name="Hosting", slug="hosting", default_resolver_group=group, criticality=1)


@pytest.fixture
def customer(roles, org_a):
    return UserFactory(username="alice", email="alice@acme.example", organization=org_a, roles=[Role.CUSTOMER])


@pytest.fixture
def colleague(roles, org_a):
    return UserFactory(username="carol", email="carol@acme.example", organization=org_a, roles=[Role.CUSTOMER])


@pytest.fixture
def other_customer(roles, org_b):
    return UserFactory(username="bob", email="bob@globex.example", organization=org_b, roles=[Role.CUSTOMER])

"""Writes of people: contacts are created here, with or without a password."""

from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction

from accounts.models import Organization, User
from accounts.roles import Role
from accounts.selectors import contact_find_by_email, organization_for_email
from itsm.lib.transactions import service_atomic


@service_atomic
def contact_create(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    organization: Organization | None = None,
    language: str = User.Language.EN,
    password: str | None = None,
    username: str | None = None,
    check_unique: bool = True,
) -> User:
    """A customer contact. Without a password the contact cannot log in until one is set."""
    email = email.strip()
    user = User(
        username=(username or email.lower())[:150],
        email=email,
        first_name=first_name[:150],
        last_name=last_name[:150],
        organization=organization,
        language=language,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    # `check_unique=False` when the caller handles the IntegrityError itself (contact_get_or_create): the
    # database's unique constraints decide, without two extra lookups.
    # an organization given as a loaded row needs no lookup to prove it exists
    exclude = ["password", "organization"] if organization is not None and organization.pk else ["password"]
    user.full_clean(exclude=exclude, validate_unique=check_unique, validate_constraints=check_unique)
    user.save()
    _role_add(user, Role.CUSTOMER)
    return user


def _role_add(user: User, role: str) -> None:
    """Put the user in the role's group: one INSERT that looks the group up by name (this runs for every new
    contact a mail brings)."""
    through = User.groups.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through} (user_id, group_id) SELECT %s, id FROM {Group._meta.db_table} WHERE name = %s",
            [user.pk, role],
        )
        if cursor.rowcount != 1:
            raise Group.DoesNotExist(f"The role {role!r} has no group: run `python manage.py migrate`.")


def contact_get_or_create(*, email: str, display_name: str = "", known_missing: bool = False) -> tuple[User, bool]:
    """The contact with this address (case-insensitive), or a new one attached to the organization
    whose mail domain matches. Safe when two intakes race on the same new address."""
    existing = None if known_missing else contact_find_by_email(email=email)  # the caller just looked
    if existing:
        return existing, False
    first, _, last = display_name.strip().partition(" ")
    try:
        with transaction.atomic():
            return (
                contact_create(
                    email=email,
                    first_name=first,
                    last_name=last,
                    organization=organization_for_email(email=email),
                    check_unique=False,
                ),
                True,
            )
    except IntegrityError:
        found = contact_find_by_email(email=email)
        if found is None:
            raise
        return found, False


MAX_CC = 20


def cc_contacts_resolve(*, actor: User, requester: User, emails: list[str]) -> list[User]:
    """The contacts that the addresses a ticket is copied to (CC) stand for, new ones created.

    Agents may copy anyone. A customer may copy only people of the requester's own organization (existing
    contacts of it, or addresses in its mail domains): otherwise anyone with a portal login could have the
    service desk mail strangers. Refused addresses are named in the error."""
    from accounts.roles import user_is_agent
    from itsm.lib.errors import DomainError

    unique = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
    if len(unique) > MAX_CC:
        raise DomainError(f"At most {MAX_CC} addresses can be copied.", details={"cc": [f"at most {MAX_CC}"]})
    if user_is_agent(actor):
        return [contact_get_or_create(email=e)[0] for e in unique]
    refused, found = [], []
    for email in unique:  # check them all before creating anyone
        existing = contact_find_by_email(email=email)
        org = existing.organization if existing is not None else organization_for_email(email=email)
        if requester.organization_id is None or org is None or org.pk != requester.organization_id:
            refused.append(email)
        found.append((email, existing))
    if refused:
        raise DomainError(
            "You can copy only people of your own organization: " + ", ".join(refused) + ".",
            details={"cc": [f"{e}: not of your organization" for e in refused]},
        )
    contacts = [existing or contact_get_or_create(email=email, known_missing=True)[0] for email, existing in found]
    return contacts

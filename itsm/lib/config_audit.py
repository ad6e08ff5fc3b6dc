"""The audit trail of configuration edits (classification rules, priority tables, calendars, SLA policies):
one row of Django's admin log (django.contrib.admin LogEntry) per edit, with the editor and a sentence saying
what changed from what to what. It shows on the object's History page in the admin and under Recent actions."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType

_FLAGS = {"added": ADDITION, "changed": CHANGE, "deleted": DELETION}


def config_change_log(*, actor, obj, action: str, message: str) -> LogEntry | None:
    """Record one configuration edit. Edits made without a person (data migrations, demo seeding without an
    actor) are not logged: the migration or the seed is their record."""
    if actor is None or not getattr(actor, "pk", None):
        return None
    return LogEntry.objects.create(
        user_id=actor.pk,
        content_type_id=ContentType.objects.get_for_model(obj, for_concrete_model=False).pk,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action_flag=_FLAGS[action],
        change_message=message[:10_000],
    )


def describe_changes(before: dict, after: dict) -> str:
    """ "field: old → new; ..." for the keys whose value differs."""
    parts = [f"{k}: {before.get(k)!r} → {after.get(k)!r}" for k in after if before.get(k) != after.get(k)]
    return "; ".join(parts) or "no field changed"

"""Abstract model bases shared by the apps (abstract models need no app of their own)."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """`created_at` set once, `updated_at` set on every save that lists it in update_fields."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

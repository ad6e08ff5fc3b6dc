"""People: users (agents, customers' contacts, vendors' contacts) and the customer organizations."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from itsm.lib.models import TimeStampedModel


class Organization(TimeStampedModel):
    """A customer company. Its contacts are the users whose `organization` points here."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    email_domains = models.JSONField(
        default=list, blank=True, help_text='Mail domains of its contacts, e.g. ["acme.example"].'
    )
    share_tickets = models.BooleanField(
        default=False,
        help_text="Contacts see, and may reply to, every ticket of the organization, not only their own.",
    )
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:accounts_organization_change", args=[self.pk])


class User(AbstractUser):
    """Every person the system knows. A contact is a user with an email and an organization; a contact
    need not have a usable password (it can exist only to be the requester of mailed-in tickets).
    What a user may do comes from the groups of accounts.roles."""

    class Language(models.TextChoices):
        EN = "en", "English"
        IT = "it", "Italiano"

    email = models.EmailField("email address", blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_ci_unique")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email or self.username

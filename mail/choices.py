"""Every choice of mail intake: the one place they live."""

from django.db import models


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, waiting for a worker to process it (mail/services.py)
    TICKET = "ticket", "Opened a ticket"
    COMMENT = "comment", "Added to a ticket"
    UNVERIFIED = "unverified", "Internal note (unverified sender)"
    BOUNCE = "bounce", "Delivery report recorded"
    QUARANTINED = "quarantined", "Quarantined"


class Scheme(models.TextChoices):
    IMAP = "imap", "IMAP (plain or STARTTLS)"
    IMAPS = "imaps", "IMAP over TLS"
    POP3 = "pop3", "POP3 (plain or STLS)"
    POP3S = "pop3s", "POP3 over TLS"
    MAILDIR = "maildir", "Maildir folder"
    PIPE = "pipe", "MTA pipe only (manage.py ingest_email)"


POLLED_SCHEMES = frozenset({Scheme.IMAP, Scheme.IMAPS, Scheme.POP3, Scheme.POP3S, Scheme.MAILDIR})

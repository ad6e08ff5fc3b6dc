"""The mail fixtures (mailbox, smtp_server, dovecot) are shared with the communication tests."""

from tests.mail.conftest import mailbox, smtp_server  # noqa: F401

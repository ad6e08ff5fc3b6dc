"""The shared real-world samples (ITSM_MAIL_TESTDATA, see its README): every message is taken in without an
unhandled error, and for a sample of them the subject, the sender and the attachment names are exactly the
expected ones (bodies are compared loosely: words only)."""

import pytest

from mail.choices import InboundStatus
from mail.models import Mailbox
from mail.parsing import parse_message
from mail.services import inbound_ingest
from tests.conftest import _missing
from tests.mail.testdata import expected, expected_attachment_names, loose_body, mail_testdata_folder, norm, samples

# Messages where the expected results are a correct reading of the message. Elsewhere the expected result
# is the other tool's own mojibake (mail060, mail072), a renamed duplicate (mail102), or we read more than it
# did (uuencoded files in mail025, the UTF-7 subject of mail018): those are checked by the first test only.
STRICT_SAMPLE = [
    "mail001", "mail002", "mail003", "mail004", "mail005", "mail006", "mail008", "mail012", "mail013", "mail014",
    "mail017", "mail033-undelivered-mail-returned-to-sender", "mail034", "mail038", "mail039", "mail040",
    "mail043", "mail045", "mail046", "mail052", "mail055", "mail056", "mail057", "mail068", "mail069", "mail077",
    "mail078-content_transfer_encoding_x_uuencode", "mail078", "mail080", "mail081", "mail082", "mail089",
    "mail091", "mail092", "mail093", "mail095", "mail101", "mail103", "mail106",
]  # fmt: skip


@pytest.fixture(scope="module")
def folder():
    found = mail_testdata_folder()
    if found is None:
        _missing("ITSM_MAIL_TESTDATA is not set to the folder of the shared mail samples (../shared/testdata/mail)")
    return found


@pytest.mark.django_db
def test_every_sample_is_taken_in_or_quarantined_with_a_reason(folder, roles, settings):
    settings.ITSM_MAIL_MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
    boxes = samples(folder)
    assert len(boxes) >= 62
    outcome = {}
    for i, box in enumerate(boxes):
        # one mailbox per file: several samples reuse one Message-ID, and each must be processed
        mailbox = Mailbox.objects.create(name=box.stem, slug=f"s{i}", url="pipe:", from_address="desk@itsm.example")
        result = inbound_ingest(mailbox=mailbox, raw=box.read_bytes(), source=box.name)
        msg = result.message
        assert not result.duplicate
        outcome[box.stem] = msg.status
        assert msg.status in (InboundStatus.TICKET, InboundStatus.COMMENT, InboundStatus.UNVERIFIED,
                              InboundStatus.BOUNCE, InboundStatus.QUARANTINED), box.name  # fmt: skip
        assert "intake failed" not in msg.reason, f"{box.name}: {msg.reason}"
        if msg.status == InboundStatus.QUARANTINED:
            assert msg.reason, box.name
        else:
            assert msg.ticket_id, box.name
    tickets = sum(1 for s in outcome.values() if s == InboundStatus.TICKET)
    assert tickets >= 45, outcome  # the rest are bounces of mail we never sent and senders with no address


@pytest.mark.parametrize("name", STRICT_SAMPLE)
def test_subject_sender_and_attachment_names_of_a_sample(folder, name):
    box = next((b for b in samples(folder) if b.stem == name), None)
    assert box is not None, f"{name} is missing from {folder}"
    want = expected(box)
    got = parse_message(box.read_bytes())
    assert norm(got.subject) == norm(want.get("subject") or "")
    assert got.from_address == (want.get("from_email") or "").lower()
    assert sorted(a.filename for a in got.attachments) == expected_attachment_names(want)
    assert loose_body(want.get("body") or "")[:60] in loose_body(got.text) + loose_body(got.html)

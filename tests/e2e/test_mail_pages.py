"""The mail pages in a real browser: an HTML mail on the ticket page (sanitized, inline image shown, quoted
history folded, the stranger's note marked), and the failed-mail page with its replay action."""

from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from accounts.models import User
from mail.models import InboundMessage, Mailbox
from mail.services import inbound_ingest
from tests.e2e.test_ticket_journey import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000010000000100802000000909168360000001d4944415478"
    "9c63fccf80002466602041a4062a1b4d0735ee00003ab2020fe1f1c5e70000000049454e44ae426082"
)


def html_mail(sender: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "support@itsm.example", "Screen flickers after the update"
    m["Message-ID"] = "<e2e-1@acme.example>"
    m.set_content("The screen flickers.")
    m.add_alternative(
        '<p>The screen <b>flickers</b> since the update. Screenshot:</p><p><img src="cid:shot@acme" alt="shot">'
        '</p><p><img src="https://tracker.example/p.gif" alt="remote image"></p><script>alert(1)</script>'
        '<div class="gmail_quote">On Monday the desk wrote:<blockquote>Please send a screenshot.</blockquote></div>',
        subtype="html",
    )
    m.get_payload()[1].add_related(PNG, "image", "png", cid="<shot@acme>", filename="shot.png")
    return m.as_bytes()


def test_an_html_mail_on_the_ticket_page_and_the_failed_mail_page(page, live_server, desk, customer, shot):
    mailbox = Mailbox.objects.create(name="Support", slug="support", url="pipe:", from_address="support@itsm.example")
    ticket = inbound_ingest(mailbox=mailbox, raw=html_mail(customer.email)).message.ticket
    stranger = User.objects.create(username="eve", email="eve@evil.example")
    raw = (
        html_mail(stranger.email)
        .replace(b"e2e-1@", b"e2e-2@")
        .replace(b"Subject: Screen", f"Subject: Re: [{ticket.number}] Screen".encode())
    )
    inbound_ingest(mailbox=mailbox, raw=raw)
    inbound_ingest(mailbox=mailbox, raw=b"this is not a message at all")

    login(page, live_server, desk.username)
    page.goto(f"{live_server.url}/tickets/{ticket.number}/")
    body = page.locator("article.description .mail-body")
    expect(body.get_by_text("flickers")).to_be_visible()
    image = body.locator("img[alt=shot]")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 16  # served, decoded
    assert body.locator("img[alt='remote image']").get_attribute("src") is None
    expect(body.get_by_text("Please send a screenshot.")).to_be_hidden()  # folded
    body.get_by_text("Quoted history").click()
    expect(body.get_by_text("Please send a screenshot.")).to_be_visible()
    expect(page.get_by_text("Unverified sender").first).to_be_visible()
    shot(page, "mail-ticket-page")

    page.get_by_role("link", name="Failed mail").click()
    expect(page.get_by_text("the message cannot be read")).to_be_visible()
    shot(page, "mail-failed-list")
    page.get_by_role("link", name="(no subject)").click()
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_text("Still quarantined")).to_be_visible()
    assert InboundMessage.objects.get(subject="").replay_count == 1

"""The audit trail's second form: each event's hash also covers whether the customer sees it (`public`), and
each chain's end is recorded in TicketAuditHead.

Existing chains move to the new form only when they verify in the old one: each is checked first, then
re-hashed; a chain that is already broken keeps its old hashes, so `audit_verify` goes on reporting it."""

import hashlib
import json
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _content(number, seq, event_type, actor_id, actor_name, created_at, data, public=None):
    body = {
        "ticket": number,
        "seq": seq,
        "type": event_type,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "data": data,
    }
    if public is not None:
        body["public"] = bool(public)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _hash(prev, content):
    return hashlib.sha256(f"{prev}\n{content}".encode()).hexdigest()


def rehash(apps, schema_editor):
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    TicketAuditHead = apps.get_model("tickets", "TicketAuditHead")
    table = TicketEvent._meta.db_table
    connection = schema_editor.connection
    rows = (
        TicketEvent.objects.order_by("ticket_id", "seq")
        .values_list(
            "pk", "ticket_id", "ticket__number", "seq", "event_type", "actor_id", "actor_name", "created_at",
            "data", "is_public", "prev_hash", "hash",
        )
        .iterator(chunk_size=5000)
    )  # fmt: skip

    chain: list[tuple] = []

    def finish(chain):
        if not chain:
            return
        prev, intact = GENESIS_HASH, True
        for expected_seq, (_, _, number, seq, etype, actor_id, actor_name, at, data, _, prev_hash, digest) in enumerate(
            chain, start=1
        ):
            content = _content(number, seq, etype, actor_id, actor_name, at, data)
            if seq != expected_seq or prev_hash != prev or _hash(prev, content) != digest:
                intact = False
                break
            prev = digest
        last_hash = chain[-1][11]
        if intact:
            prev = GENESIS_HASH
            updates = []
            for pk, _, number, seq, etype, actor_id, actor_name, at, data, public, _, _ in chain:
                digest = _hash(prev, _content(number, seq, etype, actor_id, actor_name, at, data, public))
                updates.append((prev, digest, pk))
                prev = digest
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s", updates)
            last_hash = prev
        TicketAuditHead.objects.create(ticket_id=chain[0][1], seq=chain[-1][3], hash=last_hash)

    for row in rows:
        if chain and row[1] != chain[0][1]:
            finish(chain)
            chain = []
        chain.append(row)
    finish(chain)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_escalation_event_types"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketAuditHead",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="audit_head",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                ("seq", models.PositiveIntegerField()),
                ("hash", models.CharField(max_length=64)),
            ],
            options={"verbose_name": "audit chain head"},
        ),
        migrations.RunPython(rehash, migrations.RunPython.noop),
    ]

"""The notification outbox: a message is written here before anyone tries to send it, and stays until sent.

Delivery claims a batch in id order with `FOR UPDATE SKIP LOCKED` and a short lease (`locked_until`),
so two deliverers never take the same message and a deliverer that dies mid-send gives its messages
back when the lease runs out. Order is kept per channel: a message is handed out only when no older
unsent message of its channel is in flight (leased) or waiting to be retried after a failed send
(`attempts > 0`, `next_attempt_at` ahead). A message held back on purpose (a repeated alert waiting to
be coalesced, `hold`) does not hold the others. Nothing is ever given up: a failed send is retried at
`next_attempt_at`, for as long as it takes; rows an older version marked `failed` are retried too.

A message the owners must also see by direct message is copied once per owner (`fan_out`): one row per
destination (channel `dm:<user id>`, `parent_id` the channel message), each delivered, retried and marked
on its own. A direct message Discord will never take (the owner's DMs closed) is marked `refused` and
left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trading.domain import NotificationKind
from trading.store.executor import Executor, Record, connection, is_closed

DEFAULT_LEASE = timedelta(seconds=60)
# Claims take this transaction lock in turn, so a second deliverer sees the first one's leases and can
# never take a message that sits behind one of them.
_CLAIM_LOCK = 0x6F75_7462_6F78 & 0x7FFF_FFFF_FFFF_FFFF  # "outbox"
UNSENT = ("pending", "failed")  # "failed": given up by a version before 004; retried now
DM_PREFIX = "dm:"  # the channel key of a direct message: dm:<Discord user id>


def dm_channel(user_id: int) -> str:
    return f"{DM_PREFIX}{user_id}"


def dm_user(channel: str) -> int | None:
    """The user a `dm:<id>` channel key sends to (None for a channel of the server)."""
    if not channel.startswith(DM_PREFIX):
        return None
    return int(channel.removeprefix(DM_PREFIX))


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    kind: NotificationKind
    channel: str  # the [discord.channels] key
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    dedupe_key: str | None = None
    status: str = "pending"
    last_error: str | None = None
    sent_at: datetime | None = None
    parent_id: int | None = None  # a direct message: the channel message it copies


def _message(r: Record) -> OutboxMessage:
    return OutboxMessage(
        id=r["id"],
        kind=NotificationKind(r["kind"]),
        channel=r["channel"],
        payload=r["payload"],
        attempts=r["attempts"],
        created_at=r["created_at"],
        dedupe_key=r["dedupe_key"],
        status=r["status"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
        parent_id=r["parent_id"],
    )


class OutboxRepository:
    def __init__(self, db: Executor, account: int | None = None, account_name: str = "") -> None:
        self._db = db
        # Scoped to one account of a multi-account process: its messages name the account, and their
        # dedupe keys are the account's own (two accounts' "order placed <tag>" are two messages).
        self._account = account
        self._account_name = account_name

    @property
    def closed(self) -> bool:
        """Its database is closed for good (the process is shutting down): no claim can succeed again."""
        return is_closed(self._db)

    async def enqueue(
        self,
        kind: NotificationKind,
        payload: dict[str, Any],
        dedupe_key: str | None = None,
        *,
        channel: str | None = None,
        at: datetime | None = None,
    ) -> int | None:
        """Queue a message; its id, or None when a message with this `dedupe_key` was already queued.

        A new message is due at once whatever clock the deliverer runs on (a simulated clock may be
        behind the database's): only a retry sets a time before which it is not claimed.
        """
        if self._account is not None:
            payload = {**payload, "account": self._account_name or str(self._account)}
            dedupe_key = None if dedupe_key is None else f"acct-{self._account}-{dedupe_key}"
        new_id: int | None = await self._db.fetchval(
            """
            INSERT INTO notification_outbox (kind, channel, payload, dedupe_key, created_at, next_attempt_at)
            VALUES ($1, $2, $3, $4, coalesce($5, now()), '-infinity')
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """,
            kind.value,
            channel or kind.channel,
            payload,
            dedupe_key,
            at,
        )
        return new_id

    async def fan_out(self, message: OutboxMessage, channels: Sequence[str]) -> list[int]:
        """Copy `message` once to each of `channels` (direct messages); the ids of the copies made now.
        Idempotent: a copy already made (before a crash, say) is not made again."""
        ids: list[int] = []
        for channel in channels:
            new_id = await self._db.fetchval(
                """
                INSERT INTO notification_outbox
                    (kind, channel, payload, dedupe_key, created_at, next_attempt_at, parent_id)
                VALUES ($1, $2, $3, $4, $5, '-infinity', $6)
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING id
                """,
                message.kind.value,
                channel,
                message.payload,
                f"{channel}-of-{message.id}",
                message.created_at,
                message.id,
            )
            if new_id is not None:
                ids.append(new_id)
        return ids

    async def claim_batch(
        self, limit: int = 50, *, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Take up to `limit` due messages, oldest first, for delivery by this caller alone until the
        lease ends; none that an older unsent message of its channel is still waiting for."""
        async with connection(self._db) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)
            rows = await conn.fetch(
                """
                WITH unsent AS (
                    SELECT id, channel,
                        next_attempt_at <= coalesce($2, now())
                            AND (locked_until IS NULL OR locked_until <= coalesce($2, now())) AS ready,
                        locked_until > coalesce($2, now())
                            OR (attempts > 0 AND next_attempt_at > coalesce($2, now())) AS blocking
                    FROM notification_outbox WHERE status = ANY($4::text[])
                ), ordered AS (
                    SELECT id, ready, coalesce(bool_or(blocking) OVER (
                        PARTITION BY channel ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                    ), false) AS waiting
                    FROM unsent
                ), due AS (
                    SELECT o.id FROM notification_outbox o JOIN ordered USING (id)
                    WHERE ordered.ready AND NOT ordered.waiting
                    ORDER BY o.id LIMIT $1
                    FOR UPDATE OF o SKIP LOCKED
                )
                UPDATE notification_outbox o SET locked_until = coalesce($2, now()) + $3, status = 'pending'
                FROM due WHERE o.id = due.id
                RETURNING o.*
                """,
                limit,
                now,
                lease,
                list(UNSENT),
            )
        return sorted((_message(r) for r in rows), key=lambda m: m.id)

    async def mark_sent(self, message_id: int, at: datetime | None = None) -> None:
        await self._db.execute(
            """
            UPDATE notification_outbox SET status = 'sent', sent_at = coalesce($2, now()), locked_until = NULL,
                attempts = attempts + 1
            WHERE id = $1
            """,
            message_id,
            at,
        )

    async def mark_retry(self, message_id: int, attempts: int, error: str, retry_at: datetime) -> None:
        """A send failed but may succeed later: keep it pending, not claimable before `retry_at`."""
        await self._db.execute(
            """
            UPDATE notification_outbox SET attempts = $2, last_error = $3, next_attempt_at = $4, locked_until = NULL
            WHERE id = $1
            """,
            message_id,
            attempts,
            error,
            retry_at,
        )

    async def mark_refused(self, message_id: int, error: str, at: datetime | None = None) -> None:
        """Discord will never take this message (a direct message to a user whose DMs are closed): stop."""
        await self._db.execute(
            """
            UPDATE notification_outbox SET status = 'refused', last_error = $2, sent_at = coalesce($3, now()),
                locked_until = NULL, attempts = attempts + 1
            WHERE id = $1
            """,
            message_id,
            error,
            at,
        )

    async def hold(self, message_ids: Sequence[int], until: datetime) -> None:
        """Keep messages back on purpose until `until` (not a failure: the ones behind them go on)."""
        await self._db.execute(
            "UPDATE notification_outbox SET next_attempt_at = $2, locked_until = NULL WHERE id = ANY($1::bigint[])",
            list(message_ids),
            until,
        )

    async def release(self, message_ids: Sequence[int]) -> None:
        """Give claimed messages back unsent and unchanged (they wait behind an older one of their channel)."""
        await self._db.execute(
            "UPDATE notification_outbox SET locked_until = NULL WHERE id = ANY($1::bigint[])", list(message_ids)
        )

    async def pending_count(self, channels: Sequence[str] | None = None) -> int:
        """Messages not sent yet (of these channels, or all)."""
        n: int = await self._db.fetchval(
            """
            SELECT count(*) FROM notification_outbox
            WHERE status = ANY($1::text[]) AND ($2::text[] IS NULL OR channel = ANY($2::text[]))
            """,
            list(UNSENT),
            None if channels is None else list(channels),
        )
        return n

    async def get(self, message_id: int) -> OutboxMessage | None:
        r = await self._db.fetchrow("SELECT * FROM notification_outbox WHERE id = $1", message_id)
        return None if r is None else _message(r)

    async def recent(self, limit: int = 50, *, status: str | None = None) -> list[OutboxMessage]:
        """The newest messages first, optionally of one status (pending, sent, failed, refused)."""
        rows = await self._db.fetch(
            """
            SELECT * FROM notification_outbox WHERE ($2::text IS NULL OR status = $2)
            ORDER BY id DESC LIMIT $1
            """,
            limit,
            status,
        )
        return [_message(r) for r in rows]

"""Control without Discord: the requests the CLI leaves for the running instance, and what each
instance publishes about itself (migration 005).

A request is carried out at most once: `take` marks it picked in the same statement that selects it
(`FOR UPDATE SKIP LOCKED`), and never one past its `expires_at`. Ages are measured on the database's
clock (`now()`), which every process shares whatever clock its engine runs on.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from trading.store.executor import Executor, Record

Role = Literal["active", "standby"]

# This process as an instance: host and pid for the operator, a random part so a reused pid is a new one.
HOST = socket.gethostname()
INSTANCE = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class ControlCommand:
    id: int
    account_id: int
    verb: str
    args: dict[str, Any]
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    picked_at: datetime | None
    picked_by: str | None
    done_at: datetime | None
    ok: bool | None
    result: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class InstanceRow:
    instance: str
    account_id: int
    role: Role
    mode: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    age_s: float  # now() - seen_at, on the database's clock
    status: dict[str, Any]


def _command(r: Record) -> ControlCommand:
    return ControlCommand(
        r["id"], r["account_id"], r["verb"], r["args"], r["requested_by"], r["requested_at"], r["expires_at"],
        r["picked_at"], r["picked_by"], r["done_at"], r["ok"], r["result"],
    )  # fmt: skip


def _instance(r: Record) -> InstanceRow:
    return InstanceRow(
        r["instance"], r["account_id"], r["role"], r["mode"], r["host"], r["pid"], r["started_at"], r["seen_at"],
        float(r["age_s"]), r["status"],
    )  # fmt: skip


class ControlRepository:
    def __init__(self, db: Executor, instance: str = INSTANCE) -> None:
        self._db = db
        self.instance = instance  # a multi-account process is one instance per account (its engine)

    # ------------------------------------------------------------------ requests
    async def request(
        self, account_id: int, verb: str, args: dict[str, Any], requested_by: str, expires_in_s: float
    ) -> int:
        """Leave a request for the account's running instance; its id."""
        return int(
            await self._db.fetchval(
                """
                INSERT INTO control_commands (account_id, verb, args, requested_by, expires_at)
                VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING id
                """,
                account_id,
                verb,
                args,
                requested_by,
                expires_in_s,
            )
        )

    async def take(self, account_id: int, by: str | None = None) -> ControlCommand | None:
        """The oldest waiting request of the account, marked picked by `by` (once: nobody else gets it)."""
        r = await self._db.fetchrow(
            """
            UPDATE control_commands SET picked_at = now(), picked_by = $2
            WHERE id = (
                SELECT id FROM control_commands
                WHERE account_id = $1 AND picked_at IS NULL AND expires_at > now()
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            )
            RETURNING *
            """,
            account_id,
            by or self.instance,
        )
        return None if r is None else _command(r)

    async def finish(self, command_id: int, ok: bool, result: dict[str, Any]) -> None:
        await self._db.execute(
            "UPDATE control_commands SET done_at = now(), ok = $2, result = $3 WHERE id = $1", command_id, ok, result
        )

    async def withdraw(self, command_id: int) -> bool:
        """Give up a request nobody has taken (the CLI's wait ran out): True if it will never be carried out."""
        done = await self._db.fetchval(
            """
            UPDATE control_commands SET picked_at = now(), picked_by = 'withdrawn', done_at = now(), ok = false,
                result = '{"error": "withdrawn: nobody took it in time"}'::jsonb
            WHERE id = $1 AND picked_at IS NULL RETURNING true
            """,
            command_id,
        )
        return done is not None

    async def get(self, command_id: int) -> ControlCommand | None:
        r = await self._db.fetchrow("SELECT * FROM control_commands WHERE id = $1", command_id)
        return None if r is None else _command(r)

    # ------------------------------------------------------------------ instances
    async def publish(
        self, account_id: int, role: Role, mode: str, status: dict[str, Any], *, instance: str | None = None
    ) -> None:
        """This instance is alive (with its status when active); refreshed every few seconds."""
        await self._db.execute(
            """
            INSERT INTO engine_instances (instance, account_id, role, mode, host, pid, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (instance) DO UPDATE SET account_id = excluded.account_id, role = excluded.role,
                mode = excluded.mode, status = excluded.status, seen_at = now(),
                started_at = CASE WHEN engine_instances.role = excluded.role THEN engine_instances.started_at
                                  ELSE now() END  -- a standby that took over: active since now
            """,
            instance or self.instance,
            account_id,
            role,
            mode,
            HOST,
            os.getpid(),
            status,
        )

    async def gone(self, instance: str | None = None) -> None:
        """This instance stops: its row goes (an operator sees at once that it no longer runs)."""
        await self._db.execute("DELETE FROM engine_instances WHERE instance = $1", instance or self.instance)

    async def instances(self, account_id: int | None = None, *, fresh_s: float | None = None) -> list[InstanceRow]:
        """The instances (of one account, or all), active first, newest first; only those seen within
        `fresh_s` seconds when given."""
        rows = await self._db.fetch(
            """
            SELECT *, extract(epoch FROM now() - seen_at) AS age_s FROM engine_instances
            WHERE ($1::bigint IS NULL OR account_id = $1)
              AND ($2::float8 IS NULL OR seen_at > now() - make_interval(secs => $2))
            ORDER BY role, seen_at DESC
            """,
            account_id,
            fresh_s,
        )
        return [_instance(r) for r in rows]

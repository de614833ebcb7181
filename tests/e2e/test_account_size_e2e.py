"""`/account size` through the fake Discord on three accounts of one process (on the simulator and the
real Postgres): an admin sets one account's size rule, `/account list` shows it, the account's engine
sizes with it at once and the rule is stored; bad input (both rules, neither, an unknown account) and a
reader are refused with nothing changed; the declared ranges make Discord's client refuse the rest."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.test_accounts_e2e import SETTINGS, bot_over, process_of
from tests.integration.engine.test_account_size import asked
from tests.support.discord_world import ADMIN, GUILD, READER
from tests.support.engine_harness import DAY, accounts_on, sim_day
from trading.store import Store

A, B, C = (plan.name for plan in SETTINGS.accounts)


def line_of(listed: str, name: str) -> str:
    return next(ln for ln in listed.splitlines() if f"**{name}**" in ln)


async def test_an_admin_sets_an_accounts_size_and_account_list_shows_it(store: Store, database_url: str) -> None:
    async with sim_day(DAY.rth_open) as day:
        day.sim.add_account(B)
        day.sim.add_account(C, balance=Decimal("48030"))
        cid = day.cid("MNQ")
        async with accounts_on(day, database_url, SETTINGS) as running:
            engines = [e for e, _ in running]
            a, b, c = engines
            async with bot_over(process_of(engines), store) as fake:
                channel = GUILD.channels[0]
                listed = (await fake.invoke(READER, GUILD, channel, "account list")).text()
                assert all("size ×1" in line_of(listed, n) for n in (A, B, C)), listed

                command = next(x for x in fake.commands.get(GUILD.id, []) if x["name"] == "account")
                size = next(o for o in command["options"] if o["name"] == "size")
                ranges = {o["name"]: (o.get("min_value"), o.get("max_value")) for o in size["options"]}
                # Discord's client refuses a multiplier outside [0.01, 100] or contracts outside [1, 1000].
                assert ranges["multiplier"] == (0.01, 100.0) and ranges["contracts"] == (1, 1000), ranges
                choices = await fake.autocomplete(ADMIN, GUILD, channel, "account size", {"account": "3"}, "account")
                assert [ch["value"] for ch in choices.choices] == [C]

                done = await fake.invoke(ADMIN, GUILD, channel, "account size", {"account": C, "contracts": 2})
                assert done.ephemeral and f"{C}: size 2 contracts" in done.text(), done.text()
                assert "Was ×1" in done.text(), done.text()
                listed = (await fake.invoke(READER, GUILD, channel, "account list")).text()
                assert "size 2 contracts" in line_of(listed, C), listed
                assert "size ×1" in line_of(listed, A) and "size ×1" in line_of(listed, B), listed
                assert [asked(e, cid) for e in (a, b, c)] == [1, 1, 2]

                for args, says in (
                    ({"account": B, "multiplier": 2.0, "contracts": 2}, "not multiplier and contracts"),
                    ({"account": B}, "give one of multiplier, contracts or reset"),
                    ({"account": B, "contracts": 2, "reset": True}, "not contracts and reset"),
                    ({"account": "NOPE", "contracts": 2}, "No account named 'NOPE'"),
                    ({"account": B, "reset": True}, "has no size rule set"),
                ):
                    refused = await fake.invoke(ADMIN, GUILD, channel, "account size", args)
                    assert refused.ephemeral and says in refused.text(), (args, refused.text())
                reader = await fake.invoke(READER, GUILD, channel, "account size", {"account": B, "contracts": 5})
                assert reader.ephemeral and "admin" in reader.text().lower(), reader.text()
                assert [asked(e, cid) for e in (a, b, c)] == [1, 1, 2]  # nothing changed
                assert await store.size_rules.get(B) is None

                half = await fake.invoke(ADMIN, GUILD, channel, "account size", {"account": B, "multiplier": 1.5})
                assert f"{B}: size ×1.5" in half.text(), half.text()
                assert asked(b, cid, 3) == 4
                back = await fake.invoke(ADMIN, GUILD, channel, "account size", {"account": C, "reset": True})
                assert f"{C}: size ×1" in back.text() and "back to its [[accounts]] table's rule" in back.text()
                listed = (await fake.invoke(READER, GUILD, channel, "account list")).text()
                assert "size ×1.5" in line_of(listed, B) and "size ×1" in line_of(listed, C), listed

                audit = await store.audit.recent(50)
                allowed = [(e.command, e.user_id) for e in audit if e.allowed]
                # Every invocation is audited with its arguments (3 done, 5 refused for bad input: the
                # permission was granted; the reply says why nothing changed), the reader's as refused.
                assert allowed.count(("/account size", ADMIN.id)) == 8, allowed
                refusals = [(e.command, e.user_id) for e in audit if not e.allowed]
                assert ("/account size", READER.id) in refusals, refusals
        stored = await store.size_rules.get(B)
        assert stored is not None and stored.multiplier == Decimal("1.5") and await store.size_rules.get(C) is None

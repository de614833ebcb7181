"""The fake Discord speaks enough of the real protocol for a plain discord.py bot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_payloads import FakeChannel, FakeGuild, FakeUser
from tests.fakes.discord_server import FakeDiscord

GUILD = FakeGuild(9001, "desk", [FakeChannel(9101, "general"), FakeChannel(9102, "fills")])
ALICE = FakeUser(7001, "alice")
BOB = FakeUser(7002, "bob")


class Confirm(discord.ui.View):
    def __init__(self, owner: int) -> None:
        super().__init__(timeout=30)
        self.owner = owner

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner:
            await interaction.response.send_message("not yours", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.danger)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        await interaction.response.edit_message(content="confirmed", view=None)


class Echo(commands.Cog):
    group = app_commands.Group(name="echo", description="echo things")

    @group.command(name="say", description="say it back")
    @app_commands.describe(text="what to say", times="how often")
    async def say(self, interaction: discord.Interaction, text: str, times: int = 1) -> None:
        await interaction.response.send_message(text * times)

    @group.command(name="slow", description="defer, then answer")
    async def slow(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0)
        await interaction.followup.send("done", ephemeral=True)

    @group.command(name="ask", description="ask to confirm")
    async def ask(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("sure?", view=Confirm(interaction.user.id))

    @say.autocomplete("text")
    async def text_complete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=w, value=w) for w in ("alpha", "beta") if w.startswith(current)]


@pytest.fixture
async def fake_and_bot() -> AsyncIterator[tuple[FakeDiscord, commands.Bot]]:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
            await bot.add_cog(Echo())
            await bot.login(fake.token)
            bot.tree.copy_global_to(guild=discord.Object(GUILD.id))
            await bot.tree.sync(guild=discord.Object(GUILD.id))
            task = asyncio.create_task(bot.connect(reconnect=True))
            await fake.wait_connected()
            await bot.wait_until_ready()
            try:
                yield fake, bot
            finally:
                await bot.close()
                await asyncio.gather(task, return_exceptions=True)


async def test_login_sync_and_command(fake_and_bot: tuple[FakeDiscord, commands.Bot]) -> None:
    fake, bot = fake_and_bot
    assert bot.user is not None and bot.user.id == fake.bot.id
    assert fake.synced(GUILD.id) == ["echo"]
    result = await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo say", {"text": "hi", "times": 2})
    assert result.last.content == "hihi"
    assert not result.ephemeral
    assert [m.content for m in fake.messages(GUILD.channels[0].id)] == ["hihi"]


async def test_defer_followup_and_autocomplete(fake_and_bot: tuple[FakeDiscord, commands.Bot]) -> None:
    fake, _ = fake_and_bot
    result = await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo slow")
    assert result.last.content == "done" and result.ephemeral
    choices = await fake.autocomplete(ALICE, GUILD, GUILD.channels[0], "echo say", {"text": "al"}, focused="text")
    assert [c["value"] for c in choices.choices] == ["alpha"]


async def test_buttons_only_for_the_invoker(fake_and_bot: tuple[FakeDiscord, commands.Bot]) -> None:
    fake, _ = fake_and_bot
    asked = await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo ask")
    yes = asked.button("Yes")
    other = await fake.click(BOB, GUILD, GUILD.channels[0], asked.message_id, yes["custom_id"])
    assert other.last.content == "not yours" and other.ephemeral
    mine = await fake.click(ALICE, GUILD, GUILD.channels[0], asked.message_id, yes["custom_id"])
    assert mine.last.content == "confirmed"
    assert fake.messages(GUILD.channels[0].id)[-1].content == "confirmed"


async def test_channel_posts_files_rate_limits_and_outage(fake_and_bot: tuple[FakeDiscord, commands.Bot]) -> None:
    fake, bot = fake_and_bot
    channel = bot.get_channel(GUILD.channels[1].id)
    assert isinstance(channel, discord.TextChannel)
    fake.rate_limit(1, retry_after=0.01)
    file = discord.File(io.BytesIO(b"\x89PNG fake"), filename="chart.png")
    await channel.send(embed=discord.Embed(title="Fill"), file=file)
    posted = fake.messages(GUILD.channels[1].id)
    assert [m.embeds[0]["title"] for m in posted] == ["Fill"]
    assert posted[0].files == [("chart.png", b"\x89PNG fake")]
    fake.set_down(True)
    with pytest.raises(discord.DiscordServerError):
        await bot.http.request(discord.http.Route("GET", "/users/@me"))
    fake.set_down(False)
    await fake.wait_connected()
    result = await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo say", {"text": "back"})
    assert result.last.content == "back"


async def test_fake_refuses_what_discord_would(fake_and_bot: tuple[FakeDiscord, commands.Bot]) -> None:
    fake, _ = fake_and_bot
    with pytest.raises(AssertionError, match="sends a int"):
        await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo say", {"text": "x", "times": 1.5})
    with pytest.raises(AssertionError, match="without"):
        await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo say", {"times": 2})
    with pytest.raises(AssertionError, match="no option"):
        await fake.invoke(ALICE, GUILD, GUILD.channels[0], "echo say", {"text": "x", "loud": True})

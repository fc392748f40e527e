"""`supportbot ab [stop|promote|rollback]`: the A/B test of a candidate model, shown or acted on."""

from __future__ import annotations

import click

from bot.ab_summary import ab_text, ending_text
from bot.cli.app import command, opened, operator
from bot.usecases import ab


@command("ab")
@click.argument("action", required=False, type=click.Choice([a.value for a in ab.AbAction]))
@click.pass_context
def ab_test(ctx: click.Context, action: str | None) -> int:
    """The running A/B test: arms, customers, rates with intervals and what the test says so far (or the last
    test and how it ended); ACTION stops it, promotes its candidate or rolls it back now. A running bot picks
    the change up."""
    with opened(ctx) as runtime:
        if action is None:
            click.echo(ab_text(ab.show(runtime, operator())))
            return 0
        try:
            ending = ab.ACTIONS[ab.AbAction(action)](runtime, operator())
        except ab.NoTest as exc:
            click.echo(f"{action} refused: {exc}", err=True)
            return 1
    click.echo(ending_text(ending))
    return 0

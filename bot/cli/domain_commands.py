"""`supportbot domain check`: what a shop owner must fix in data/ (training/domain_check.py)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from bot.cli.app import cli, config_of, config_option
from training.domain import load_domain
from training.domain_check import Severity, check_domain


@cli.group("domain")
@config_option
def domain_group() -> None:
    """The shop's domain in data/: intents, their examples, slots and actions."""


@domain_group.command("check")
@config_option
@click.option("--min-examples", type=click.IntRange(min=1), default=20, show_default=True,
              help="fewest examples an intent should have in each language")
@click.option("--json", "as_json", is_flag=True, help="the findings as JSON")
@click.pass_context
def check(ctx: click.Context, min_examples: int, as_json: bool) -> int:
    """Report what to fix: thin or duplicated examples, gold leaks, confusable intents, unknown
    template fields, action endpoints that do not answer. Exit code 1 when any finding is an error."""
    config = config_of(ctx)
    findings = check_domain(load_domain(config.data_dir), config.actions.endpoints or None, min_examples=min_examples)
    errors = sum(f.severity == Severity.ERROR for f in findings)
    if as_json:
        click.echo(json.dumps({"findings": [asdict(f) for f in findings], "errors": errors,
                               "warnings": len(findings) - errors}, ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            click.echo(f"{finding.severity:<8}{finding.intent}: {finding.message}")
        click.echo(f"{errors} errors, {len(findings) - errors} warnings")
    return 1 if errors else 0

"""Who may do what, and the audit trail: every admin action is authorised and recorded here, once.

The channel says who is asking (`Actor`); whether they are an admin is the channel's to decide (a
Telegram user id in config in a private chat; anyone at the terminal, who has the files anyway).
The decorator records each attempt in the `audit` table with its outcome: allowed, refused, or
failed with the reason, so neither channel can forget to, or do it differently.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from bot.runtime import Runtime
from storage.audit import AuditAction

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who asks: `telegram:4242`, `cli:anna`, `nightly`. `admin` is the channel's verdict."""

    name: str
    admin: bool = False


class NotAllowed(PermissionError):
    """An admin use case asked for by someone who is not an admin (already audited)."""


def _describe(result: object, *_arguments: object) -> str:
    """What the audit row says of a call: ids and counts, as each use case returns them."""
    return "" if result is None else str(result)


def audited(
    action: AuditAction, *, admin: bool = True, detail: Callable[..., str] = _describe
) -> Callable[[Callable[Concatenate[Runtime, Actor, P], T]], Callable[Concatenate[Runtime, Actor, P], T]]:
    """Authorise (when `admin`) and audit a use case `fn(runtime, actor, ...)` once.

    Refused: audited with allowed = 0, raises NotAllowed. Raised: audited with the error as detail,
    re-raised for the channel to explain. Returned: audited with `detail(result, *args)` (the call's
    arguments after the actor), which must name ids and counts, never a customer's text.
    """

    def decorate(fn: Callable[Concatenate[Runtime, Actor, P], T]) -> Callable[Concatenate[Runtime, Actor, P], T]:
        @functools.wraps(fn)
        def wrapper(runtime: Runtime, actor: Actor, *args: P.args, **kwargs: P.kwargs) -> T:
            if admin and not actor.admin:
                runtime.audit.record(actor.name, action, allowed=False)
                log.warning("refused %s from %s", action, actor.name)
                raise NotAllowed(f"{action} is for admins only")
            try:
                result = fn(runtime, actor, *args, **kwargs)
            except Exception as exc:
                runtime.audit.record(actor.name, action, f"failed: {exc}")
                raise
            runtime.audit.record(actor.name, action, detail(result, *args))
            return result

        return wrapper

    return decorate

"""Answers kept for one batch of escalation steps.

A batch of steps (``escalation.run_due_steps``: the first levels of the incidents a burst of
alerts opened) asks the same questions of the same level for every incident: whom it reaches
now, its group chats, the app that delivers its rule. The answers cannot change within the
batch's transaction in any way the batch should see, so the first incident's are kept for the
others, on the rule and level instances the batch shares (``keep_on``). Anywhere else, on any
instance the batch did not mark, ``kept`` asks every time, so an instance that lives longer (an
admin form's, a request's) never answers from before a change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_ANSWERS = "_batch_answers"


def keep_on(*instances: Any) -> None:
    """From now on, what is asked of these instances through ``kept`` is asked once."""
    for instance in instances:
        setattr(instance, _ANSWERS, {})


def kept(instance: Any, question: Hashable, ask: Callable[[], T]) -> T:
    """``ask()``'s answer; the one kept on ``instance`` when its batch keeps answers. Callers
    share a kept answer: they must not change it."""
    answers: dict[Hashable, Any] | None = getattr(instance, _ANSWERS, None)
    if answers is None:
        return ask()
    if question not in answers:
        answers[question] = ask()
    return answers[question]

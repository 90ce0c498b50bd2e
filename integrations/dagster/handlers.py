"""How the execution job carries out pipeline actions: a registry of handlers by action name.

A handler gets the op's context and the proposal's typed params and returns what it did, as
metadata for the run. ``retry_task`` is real: it re-executes the failed Dagster run from its
failed steps through the instance. The demo handlers record what they would change in the demo
warehouse's ``ops_log`` table so the effect can be seen and checked; a deployment registers its
own (a secrets manager's rotate call, a scheduler's API) under the same names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import OpExecutionContext

from integrations.dagster.reexecute import reexecute_from_failure
from integrations.dagster.resource import TAG_REEXECUTION_OF
from integrations.warehouse.demo import OPS_LOG
from supervisor.errors import UsageError


@dataclass(frozen=True)
class ActionRequest:
    """What a handler is asked to do."""

    proposal_id: str
    action: str
    params: Mapping[str, Any]
    target: str | None
    warehouse: Any = None  # the job's warehouse resource (a DuckDBResource in the demo), if it has one


Handler = Callable[[OpExecutionContext, ActionRequest], Mapping[str, Any]]


class ActionHandlers:
    """Handlers by action name; an action with no handler fails the step and runs nothing."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})

    def register(self, action: str, handler: Handler) -> ActionHandlers:
        """A copy with ``handler`` registered for ``action`` (replacing any earlier one)."""
        return ActionHandlers({**self._handlers, action: handler})

    def names(self) -> tuple[str, ...]:
        """The actions this registry can carry out."""
        return tuple(sorted(self._handlers))

    def run(self, context: OpExecutionContext, request: ActionRequest) -> Mapping[str, Any]:
        """Carry out one action.

        Raises:
            UsageError: no handler is registered for the action.
        """
        handler = self._handlers.get(request.action)
        if handler is None:
            known = ", ".join(self.names()) or "none"
            raise UsageError(f"no handler for action {request.action!r} (registered: {known}); register one with ActionHandlers.register")
        return handler(context, request)


def retry_task(context: OpExecutionContext, request: ActionRequest) -> Mapping[str, Any]:
    """Re-execute a failed Dagster run (param ``run_id``) from its failed steps."""
    run_id = str(request.params.get("run_id") or "")
    if not run_id:
        raise UsageError("retry_task needs the failed run's id: pass --param run_id=ID")
    run = reexecute_from_failure(context.instance, run_id, tags={TAG_REEXECUTION_OF: request.proposal_id})
    context.log.info(f"queued run {run.run_id}: re-execution of {run_id} from its failed steps")
    return {"reexecution_run_id": run.run_id, "parent_run_id": run_id}


def record_in_ops_log(context: OpExecutionContext, request: ActionRequest) -> Mapping[str, Any]:
    """A demo handler: record the action in the warehouse's ``ops_log`` table."""
    if request.warehouse is None:
        raise UsageError(f"{request.action} is recorded in the warehouse's ops_log, and this job has no warehouse resource")
    with request.warehouse.get_connection() as conn:
        conn.execute(OPS_LOG)
        conn.execute(
            "INSERT INTO ops_log (proposal_id, action, target, params, run_id) VALUES (?, ?, ?, ?, ?)",
            [request.proposal_id, request.action, request.target, json.dumps(dict(request.params), default=str), context.run_id],
        )
    context.log.info(f"{request.action} on {request.target or 'its target'} recorded in ops_log")
    return {"ops_log": request.action}


DEMO_ACTIONS = ("rotate_credential", "pre_rotate_credential", "clear_stuck_task", "scale_compute", "adjust_timeout", "modify_schedule", "trigger_backfill", "dequeue_dlq")


def default_handlers(*, demo: bool = False) -> ActionHandlers:
    """``retry_task`` through the instance and, with ``demo``, the ops_log handler for the other operational actions."""
    handlers = ActionHandlers({"retry_task": retry_task})
    if demo:
        for name in DEMO_ACTIONS:
            handlers = handlers.register(name, record_in_ops_log)
    return handlers

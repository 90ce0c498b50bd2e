"""The decision core: models, policy, trust ladder, ledger, approvals and audit trail.

Names are loaded on first use, so importing ``supervisor.errors`` (as ``trustladder classify``
does) does not pull in DuckDB.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor.models import Assessment as Assessment
    from supervisor.models import Decision as Decision
    from supervisor.models import Outcome as Outcome
    from supervisor.models import PolicyDecision as PolicyDecision
    from supervisor.models import Proposal as Proposal
    from supervisor.policy import decide as decide
    from supervisor.service import Supervisor as Supervisor
    from supervisor.trust_ladder import Ladder as Ladder
    from supervisor.trust_ladder import load_ladder as load_ladder

_EXPORTS = {
    "Assessment": "supervisor.models",
    "Decision": "supervisor.models",
    "Outcome": "supervisor.models",
    "PolicyDecision": "supervisor.models",
    "Proposal": "supervisor.models",
    "decide": "supervisor.policy",
    "Supervisor": "supervisor.service",
    "Ladder": "supervisor.trust_ladder",
    "load_ladder": "supervisor.trust_ladder",
}
__all__ = ["Assessment", "Decision", "Ladder", "Outcome", "PolicyDecision", "Proposal", "Supervisor", "decide", "load_ladder"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'supervisor' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

"""The decision core: models, policy, trust ladder, ledger, approvals and audit trail."""

from __future__ import annotations

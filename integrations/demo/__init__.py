"""``trustladder demo``: simulated weeks of an agent's proposals, played through the trust ladder.

The workload (``workload``) is what the agent proposes and how reviewers and runs answer; the
simulation (``simulation``) plays it through ``supervisor.Supervisor`` on a simulated clock and
runs what the gate clears on the demo warehouse (``integrations.warehouse.demo``); the figures
(``figures``) are read back from the ledger. The core never imports this package: the CLI loads
``integrations.demo.command`` by name.
"""

from __future__ import annotations

from integrations.demo.figures import DemoReport as DemoReport
from integrations.demo.figures import read_figures as read_figures
from integrations.demo.simulation import Simulation as Simulation

__all__ = ["DemoReport", "Simulation", "read_figures"]

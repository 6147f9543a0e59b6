"""The agents and the contract stand alone: importing them loads no server module
(an agent host has no database, API or server-side RPC code to speak of)."""

from __future__ import annotations

import subprocess
import sys

AGENT_MODULES = ("neutrino.agent.linuxbridge.agent", "neutrino.agent.dhcp.agent",
                 "neutrino.agent.vif", "neutrino.cli.vif")
# Neutral leaves an agent may use besides neutrino.agent and neutrino.contract.
ALLOWED = ("neutrino", "neutrino.log", "neutrino.cli", "neutrino.cli.vif")


def loaded_by(modules: tuple[str, ...]) -> list[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print('\\n'.join(m for m in sys.modules if m.startswith('neutrino')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return sorted(m for m in out
                  if not m.startswith(("neutrino.agent", "neutrino.contract"))
                  and m not in ALLOWED)


def test_agents_load_only_agent_and_contract_modules() -> None:
    assert loaded_by(AGENT_MODULES) == []


def test_contract_loads_nothing_server_side() -> None:
    assert loaded_by(("neutrino.contract.bus", "neutrino.contract.kinds",
                      "neutrino.contract.names", "neutrino.contract.notifications",
                      "neutrino.contract.options")) == []

"""The kinds of desired state an agent asks for (``get_desired_state``)."""

from __future__ import annotations

from typing import Literal

from neutrino.contract.dhcp import DhcpState
from neutrino.contract.l2 import L2State
from neutrino.contract.l3 import L3State

Kind = Literal["l2", "dhcp", "l3"]
KINDS: tuple[Kind, ...] = ("l2", "dhcp", "l3")

DesiredState = L2State | DhcpState | L3State

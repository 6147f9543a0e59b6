"""bench/scale.py's agent processes (bench/sim_agents.py): what a benchmark user
relies on — a crashed or failing agent process fails the run loudly, and none is
left running after it. Real spawned processes; no broker (no agents prepared)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from sim_agents import AgentFleet, AgentProcessFailed  # noqa: E402


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: multiprocessing reaps its children on join.
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return status != "Z"


@pytest.fixture
def fleet():
    fleet = AgentFleet([f"sim-{i}" for i in range(5)], procs=2, nice=0)
    try:
        yield fleet
    finally:
        fleet.close()


def test_hosts_spread_over_processes_and_all_ended_on_close(fleet):
    pids = fleet.pids()
    assert len(set(pids)) == 2
    assert [len(p.hosts) for p in fleet.procs] == [3, 2]
    # Each process answers for its own (none prepared here) and its CPU time.
    assert [agents for agents, _ in fleet.all("counters")] == [{}, {}]
    fleet.close()
    assert not any(alive(pid) for pid in pids)


def test_a_killed_agent_process_fails_the_run(fleet):
    victim = fleet.procs[1]
    os.kill(victim.pid, signal.SIGKILL)
    victim.proc.join(10)
    with pytest.raises(AgentProcessFailed, match=f"pid {victim.pid}.*exit code -9"):
        fleet.check()
    with pytest.raises(AgentProcessFailed, match=f"pid {victim.pid}"):
        fleet.counters()
    pids = fleet.pids()
    fleet.close()
    assert not any(alive(pid) for pid in pids)


def test_a_failing_command_is_raised_with_the_agent_process_traceback(fleet):
    # No agents prepared: plugging a host's devices fails in the agent process.
    with pytest.raises(AgentProcessFailed, match="(?s)failed 'plug'.*KeyError"):
        fleet.plug("sim-0", ["tap0"])
    fleet.check()  # the process itself carries on


def test_an_agent_process_stops_when_the_orchestrator_goes(fleet):
    proc = fleet.procs[0]
    proc.conn.close()  # as the orchestrator's death closes its end
    proc.proc.join(30)
    assert proc.proc.exitcode == 0

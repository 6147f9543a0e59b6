"""The load balancer agent's pure parts: HAProxy's configuration from the desired
state (checked by ``haproxy -c`` when HAProxy is installed) and members' health
from ``show stat``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from neutrino.agent.lbaas import render, stats
from neutrino.contract.lbaas import LbLoadBalancer, LbPool

M1, M2 = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"
POOL, OTHER, LISTENER = "p" * 8, "q" * 8, "l" * 8


def _pool(pool_id: str = POOL, **over: object) -> LbPool:
    pool: LbPool = {
        "id": pool_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "admin_state_up": True, "session_persistence": None,
        "members": [
            {"id": M1, "address": "10.0.0.11", "protocol_port": 8080, "weight": 1,
             "backup": False, "admin_state_up": True, "monitor_address": None,
             "monitor_port": None},
            {"id": M2, "address": "10.0.0.12", "protocol_port": 8080, "weight": 3,
             "backup": True, "admin_state_up": False, "monitor_address": "10.0.0.99",
             "monitor_port": 9000}],
        "healthmonitor": {"id": "hm", "type": "HTTP", "delay": 2, "timeout": 1,
                          "max_retries": 2, "max_retries_down": 3, "http_method": "GET",
                          "url_path": "/health", "expected_codes": "200-202",
                          "admin_state_up": True}}
    pool.update(over)  # type: ignore[typeddict-item]
    return pool


def _lb(**over: object) -> LbLoadBalancer:
    lb: LbLoadBalancer = {
        "id": "lb", "revision": 3, "admin_state_up": True, "vip_port_id": "port",
        "vip_address": "10.0.0.5", "vip_mac": "fa:16:3e:00:00:01", "vip_prefixlen": 24,
        "gateway_ip": "10.0.0.1", "mtu": 1450,
        "listeners": [{
            "id": LISTENER, "protocol": "HTTP", "protocol_port": 80,
            "connection_limit": 100, "default_pool_id": POOL, "admin_state_up": True,
            "timeout_client_data": 50000, "timeout_member_connect": 5000,
            "timeout_member_data": 50000, "insert_headers": {"X-Forwarded-For": "true"},
            "allowed_cidrs": ["10.0.0.0/8"],
            "l7policies": [{
                "id": "pol", "action": "REDIRECT_TO_POOL", "position": 1,
                "redirect_pool_id": OTHER, "redirect_url": None, "redirect_prefix": None,
                "redirect_http_code": None, "admin_state_up": True,
                "rules": [{"id": "r1", "type": "PATH", "compare_type": "STARTS_WITH",
                           "key": None, "value": "/api", "invert": False,
                           "admin_state_up": True},
                          {"id": "r2", "type": "HEADER", "compare_type": "EQUAL_TO",
                           "key": "X-Beta", "value": "yes", "invert": True,
                           "admin_state_up": True}]}]}],
        "pools": [_pool(), _pool(OTHER, lb_algorithm="SOURCE_IP", healthmonitor=None,
                                 session_persistence={"type": "HTTP_COOKIE",
                                                      "cookie_name": None})]}
    lb.update(over)  # type: ignore[typeddict-item]
    return lb


def test_render_frontend_backends_checks_and_l7() -> None:
    text = render.render(_lb(), "/run/lb/sock")
    assert text is not None
    frontend = text.split(f"frontend {LISTENER}\n")[1].split("\n\n")[0]
    assert "    bind 10.0.0.5:80" in frontend and "    mode http" in frontend
    assert "    maxconn 100" in frontend and "    option forwardfor" in frontend
    assert "    tcp-request connection reject unless allowed_cidr" in frontend
    assert "    acl rule_r1 path -m beg /api" in frontend
    assert "    acl rule_r2 req.hdr(X-Beta) -m str yes" in frontend
    assert f"    use_backend {OTHER} if rule_r1 !rule_r2" in frontend
    assert frontend.rstrip().endswith(f"default_backend {POOL}")
    backend = text.split(f"\nbackend {POOL}\n")[1].split("\n\n")[0]
    assert "    balance roundrobin" in backend
    assert "    option httpchk GET /health" in backend
    assert "    http-check expect rstatus (200|201|202)" in backend
    assert (f"    server {M1} 10.0.0.11:8080 weight 1 check inter 2s fall 3 rise 2"
            in backend)
    assert (f"    server {M2} 10.0.0.12:8080 weight 3 check inter 2s fall 3 rise 2 "
            "addr 10.0.0.99 port 9000 backup disabled") in backend
    other = text.split(f"\nbackend {OTHER}\n")[1]
    assert "    balance source" in other and "cookie SRV insert indirect nocache" in other
    assert f"server {M1} 10.0.0.11:8080 weight 1 cookie {M1}" in other
    assert "stats socket /run/lb/sock mode 600 level admin" in text


def test_render_tcp_without_monitor_and_disabled_objects() -> None:
    lb = _lb()
    lb["listeners"][0].update(protocol="TCP", l7policies=[], allowed_cidrs=[],
                              connection_limit=-1)
    lb["pools"] = [_pool(protocol="TCP", healthmonitor=None)]
    text = render.render(lb, "s")
    assert text is not None
    assert "    mode tcp" in text and "maxconn 100" not in text
    assert "check" not in text.split(f"\nbackend {POOL}")[1]
    assert "option forwardfor" not in text       # HTTP only
    lb["listeners"][0]["admin_state_up"] = False
    assert render.render(lb, "s") is None   # nothing to serve: HAProxy stops
    assert render.render(_lb(admin_state_up=False), "s") is None


def test_l7_redirects_and_reject() -> None:
    pools = {POOL: _pool()}
    base = _lb()["listeners"][0]["l7policies"][0]
    url = dict(base, action="REDIRECT_TO_URL", redirect_url="http://x.example/",
               redirect_http_code=301)
    assert render.l7policy(url, pools)[-1] == (
        "    redirect code 301 location http://x.example/ if rule_r1 !rule_r2")
    assert render.l7policy(dict(base, action="REJECT"), pools)[-1] == (
        "    http-request deny if rule_r1 !rule_r2")
    assert render.l7policy(dict(base, rules=[]), pools) == []   # no rule: never applies


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed")
def test_haproxy_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    text = render.render(_lb(), str(tmp_path / "sock"))
    assert text is not None
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    result = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True,
                            text=True, timeout=10, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


SHOW_STAT = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
             "eresp,wretr,wredis,status,weight\n") + """l,FRONTEND,,,0,0,100,0,0,0,0,0,0,,,,,OPEN,
p,m-up,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1
p,m-down,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1
p,m-going,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,1
p,m-nocheck,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1
p,m-maint,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1
p,BACKEND,0,0,0,0,,0,0,0,0,0,,0,0,0,0,UP,2
"""


def test_member_statuses_from_show_stat() -> None:
    assert stats.member_statuses(SHOW_STAT) == {
        "m-up": "ONLINE", "m-down": "ERROR", "m-going": "ONLINE",
        "m-nocheck": "NO_MONITOR", "m-maint": "OFFLINE"}

"""The metadata agent's configuration and state report (upstream's keys)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

from oslo_config import cfg

from neutrino.agent.metadata import config as md_config
from neutrino.agent.metadata.agent import agent_state, check_config, upstream
from server import BIN


def make_conf(tmp_path, text: str = "") -> cfg.ConfigOpts:
    ini = tmp_path / "metadata_agent.ini"
    ini.write_text("[DEFAULT]\n" + text)
    conf = cfg.ConfigOpts()
    md_config.register_opts(conf)
    conf(args=["--config-file", str(ini)], project="neutrino")
    return conf


def test_defaults_are_upstreams(tmp_path) -> None:
    conf = make_conf(tmp_path, "state_path = /var/lib/neutrino\n")
    assert conf.metadata_proxy_socket == "/var/lib/neutrino/metadata_proxy"
    assert (conf.nova_metadata_host, conf.nova_metadata_port,
            conf.nova_metadata_protocol) == ("127.0.0.1", 8775, "http")
    assert conf.metadata_upstream == "nova"
    assert md_config.cache_ttl(conf.cache_url) == 5
    assert check_config(conf) == []
    assert not upstream(conf).builtin


def test_state_report(tmp_path) -> None:
    conf = make_conf(tmp_path, "host = net-1\nnova_metadata_host = nova.example\n"
                               "metadata_proxy_socket = /run/md.sock\n")
    state = agent_state("net-1", conf, True)
    assert state == {
        "agent_type": "Metadata agent", "binary": "neutrino-metadata-agent",
        "topic": "N/A", "host": "net-1", "start_flag": True,
        "configurations": {"metadata_proxy_socket": "/run/md.sock",
                           "nova_metadata_host": "nova.example",
                           "nova_metadata_port": 8775, "log_agent_heartbeats": False,
                           "metadata_upstream": "nova"}}
    assert "start_flag" not in agent_state("net-1", conf, False)


def test_https_upstream_and_bad_options(tmp_path) -> None:
    conf = make_conf(tmp_path, "nova_metadata_protocol = https\n"
                               "nova_metadata_insecure = true\n"
                               "metadata_proxy_shared_secret = s\n")
    up = upstream(conf)
    assert (up.protocol, up.insecure, up.secret) == ("https", True, "s")
    connection = up.connection()
    assert connection.__class__.__name__ == "HTTPSConnection"
    bad = make_conf(tmp_path, "cache_url = memcache://x\nnova_client_priv_key = /k\n")
    assert len(check_config(bad)) == 2


def test_binary_serves_its_socket_without_root_and_stops_on_sigterm(tmp_path) -> None:
    """The binary alone (no server: its reports fail and are retried): it listens,
    answers a request that is not from a proxy with 400, and SIGTERM stops it and
    removes its socket."""
    sock = tmp_path / "md.sock"
    ini = tmp_path / "metadata_agent.ini"
    ini.write_text(f"[DEFAULT]\nhost = lonely\nrpc_response_timeout = 1\n"
                   f"metadata_proxy_socket = {sock}\nmetadata_upstream = builtin\n"
                   "[AGENT]\nreport_interval = 1\n")
    log = tmp_path / "agent.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN / "neutrino-metadata-agent"), "--config-file",
                                 str(ini)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(sock))
            client.sendall(b"GET /openstack HTTP/1.0\r\n\r\n")
            assert client.makefile("rb").read().startswith(b"HTTP/1.0 400")
        assert f"neutrino-metadata-agent on host lonely: socket {sock}, upstream " \
               "built-in" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

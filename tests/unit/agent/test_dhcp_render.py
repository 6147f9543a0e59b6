"""What the DHCP agent tells dnsmasq (render.py): exact files and command lines for
representative networks, in upstream's formats, since that is what guests see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oslo_config import cfg

from neutrino.agent.dhcp import config as dhcp_config
from neutrino.agent.dhcp import render as r
from neutrino.agent.dhcp.agent import agent_state, check_config
from neutrino.agent.dhcp.reconciler import Result

NET = "11111111-2222-3333-4444-555555555555"
SUB4 = "aaaaaaaa-0000-0000-0000-000000000004"
SUB4B = "bbbbbbbb-0000-0000-0000-000000000004"
SUB6 = "cccccccc-0000-0000-0000-000000000006"
DHCP_PORT = "dddddddd-1111-2222-3333-444444444444"
VM = "eeeeeeee-1111-2222-3333-444444444444"
VM2 = "ffffffff-1111-2222-3333-444444444444"
SETTINGS = r.Settings()
PATHS = r.Paths("/var/lib/neutrino/dhcp/" + NET)


def subnet(sid: str = SUB4, cidr: str = "10.0.0.0/24", gateway: str | None = "10.0.0.1",
           **extra) -> dict:
    version = 6 if ":" in cidr else 4
    return {"id": sid, "cidr": cidr, "ip_version": version, "gateway_ip": gateway,
            "enable_dhcp": True, "dns_nameservers": [], "host_routes": [],
            "allocation_pools": [], "ipv6_ra_mode": None, "ipv6_address_mode": None,
            "revision_number": 1, **extra}


def port(pid: str, mac: str, *ips: tuple[str, str], owner: str = "compute:nova",
         opts: list | None = None, **extra) -> dict:
    return {"id": pid, "mac_address": mac, "device_owner": owner, "device_id": "x",
            "fixed_ips": [{"subnet_id": s, "ip_address": a} for s, a in ips],
            "extra_dhcp_opts": opts or [], "revision_number": 1, **extra}


DPORT = port(DHCP_PORT, "fa:16:3e:00:00:02", (SUB4, "10.0.0.2"), owner="network:dhcp")


def network(*subnets: dict, ports: list | None = None, mtu: int = 1450,
            dhcp_port: dict | None = DPORT) -> dict:
    return {"id": NET, "revision_number": 3, "mtu": mtu, "admin_state_up": True,
            "subnets": list(subnets) or [subnet()],
            "ports": ports if ports is not None else [
                port(VM, "fa:16:3e:00:00:05", (SUB4, "10.0.0.5"))],
            "dhcp_port": dhcp_port}


# -- names ---------------------------------------------------------------------------


def test_names_are_upstreams() -> None:
    assert r.namespace_name(NET) == "qdhcp-" + NET
    assert r.interface_name(DHCP_PORT) == "ns-dddddddd-11"
    assert r.tap_name(DHCP_PORT) == "tapdddddddd-11"


# -- hosts ---------------------------------------------------------------------------


def test_hosts_file_lists_every_port_address_including_the_dhcp_port() -> None:
    assert r.hosts_file(network(), SETTINGS) == (
        "fa:16:3e:00:00:02,host-10-0-0-2.openstacklocal,10.0.0.2\n"
        "fa:16:3e:00:00:05,host-10-0-0-5.openstacklocal,10.0.0.5\n")
    assert r.addn_hosts_file(network(), SETTINGS) == (
        "10.0.0.2\thost-10-0-0-2.openstacklocal host-10-0-0-2\n"
        "10.0.0.5\thost-10-0-0-5.openstacklocal host-10-0-0-5\n")


def test_hosts_file_one_line_per_mac_and_address_ipv6_bracketed() -> None:
    net = network(subnet(), subnet(SUB6, "2001:db8::/64", "2001:db8::1",
                                   ipv6_address_mode="dhcpv6-stateful",
                                   ipv6_ra_mode="dhcpv6-stateful"),
                  ports=[port(VM, "fa:16:3e:00:00:05", (SUB4, "10.0.0.5"),
                              (SUB6, "2001:db8::5"))], dhcp_port=None)
    assert r.hosts_file(net, r.Settings(dns_domain="example.org")) == (
        "fa:16:3e:00:00:05,host-10-0-0-5.example.org,10.0.0.5\n"
        "fa:16:3e:00:00:05,host-2001-db8--5.example.org,[2001:db8::5]\n")


def test_hostname_comes_from_dns_assignment_when_present() -> None:
    vm = port(VM, "fa:16:3e:00:00:05", (SUB4, "10.0.0.5"), dns_assignment=[
        {"hostname": "web1", "ip_address": "10.0.0.5", "fqdn": "web1.example.org."}])
    net = network(ports=[vm], dhcp_port=None)
    assert r.hosts_file(net, SETTINGS) == "fa:16:3e:00:00:05,web1.example.org,10.0.0.5\n"
    assert r.addn_hosts_file(net, SETTINGS) == "10.0.0.5\tweb1.example.org web1\n"


def test_addresses_on_subnets_without_dhcp_are_not_served() -> None:
    net = network(subnet(), subnet(SUB4B, "10.1.0.0/24", "10.1.0.1", enable_dhcp=False),
                  ports=[port(VM, "fa:16:3e:00:00:05", (SUB4B, "10.1.0.5")),
                         port(VM2, "fa:16:3e:00:00:06", (SUB4, "10.0.0.6"),
                              (SUB4B, "10.1.0.6"))], dhcp_port=None)
    assert r.hosts_file(net, SETTINGS) == (
        "fa:16:3e:00:00:06,host-10-0-0-6.openstacklocal,10.0.0.6\n")
    assert [s["id"] for s in r.served_subnets(net)] == [SUB4]


# -- options ---------------------------------------------------------------------------


def test_options_router_dns_from_dhcp_port_and_mtu() -> None:
    tag = f"tag:subnet-{SUB4}"
    assert r.opts_file(network(), SETTINGS) == (
        f"{tag},option:dns-server,10.0.0.2\n"
        f"{tag},option:router,10.0.0.1\n"
        f"{tag},option:mtu,1450\n")


def test_options_subnet_dns_servers_and_no_gateway() -> None:
    net = network(subnet(gateway=None, dns_nameservers=["8.8.8.8", "1.1.1.1"]), mtu=0)
    tag = f"tag:subnet-{SUB4}"
    assert r.opts_file(net, SETTINGS) == (
        f"{tag},option:dns-server,8.8.8.8,1.1.1.1\n"
        f"{tag},option:router\n")


def test_options_unspecified_dns_server_announces_none() -> None:
    net = network(subnet(dns_nameservers=["0.0.0.0"]))
    assert r.opts_file(net, SETTINGS).splitlines()[0] == f"tag:subnet-{SUB4},option:dns-server"


def test_options_host_routes_classless_with_default_route_via_gateway() -> None:
    net = network(subnet(host_routes=[
        {"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"},
        {"destination": "172.16.0.0/12", "nexthop": "10.0.0.253"}]))
    tag = f"tag:subnet-{SUB4}"
    routes = "192.168.0.0/16,10.0.0.254,172.16.0.0/12,10.0.0.253,0.0.0.0/0,10.0.0.1"
    assert r.opts_file(net, SETTINGS) == (
        f"{tag},option:dns-server,10.0.0.2\n"
        f"{tag},option:classless-static-route,{routes}\n"
        f"{tag},249,{routes}\n"
        f"{tag},option:router,10.0.0.1\n"
        f"{tag},option:mtu,1450\n")


def test_options_default_host_route_is_the_router_without_gateway() -> None:
    net = network(subnet(gateway=None, host_routes=[
        {"destination": "0.0.0.0/0", "nexthop": "10.0.0.254"}]), mtu=0)
    assert r.opts_file(net, SETTINGS).splitlines()[1:] == [
        f"tag:subnet-{SUB4},option:router,10.0.0.254"]


def test_options_other_ipv4_subnets_of_the_network_are_on_link_routes() -> None:
    net = network(subnet(), subnet(SUB4B, "10.1.0.0/24", "10.1.0.1"), mtu=0,
                  dhcp_port=port(DHCP_PORT, "fa:16:3e:00:00:02", (SUB4, "10.0.0.2"),
                                 (SUB4B, "10.1.0.2"), owner="network:dhcp"))
    a, b = f"tag:subnet-{SUB4}", f"tag:subnet-{SUB4B}"
    assert r.opts_file(net, SETTINGS) == (
        f"{a},option:dns-server,10.0.0.2\n"
        f"{a},option:classless-static-route,10.1.0.0/24,0.0.0.0,0.0.0.0/0,10.0.0.1\n"
        f"{a},249,10.1.0.0/24,0.0.0.0,0.0.0.0/0,10.0.0.1\n"
        f"{a},option:router,10.0.0.1\n"
        f"{b},option:dns-server,10.1.0.2\n"
        f"{b},option:classless-static-route,10.0.0.0/24,0.0.0.0,0.0.0.0/0,10.1.0.1\n"
        f"{b},249,10.0.0.0/24,0.0.0.0,0.0.0.0/0,10.1.0.1\n"
        f"{b},option:router,10.1.0.1\n")


def test_extra_dhcp_opts_tag_the_port_and_honour_ip_version() -> None:
    vm = port(VM, "fa:16:3e:00:00:05", (SUB4, "10.0.0.5"), opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4},
        {"opt_name": "150", "opt_value": "10.0.0.9", "ip_version": 4},
        # the port has no IPv6 address: not applied
        {"opt_name": "dns-server", "opt_value": "[2001:db8::53]", "ip_version": 6}])
    net = network(ports=[vm], dhcp_port=None, mtu=0)
    assert r.hosts_file(net, SETTINGS) == (
        f"fa:16:3e:00:00:05,host-10-0-0-5.openstacklocal,10.0.0.5,set:port-{VM}\n")
    assert r.opts_file(net, SETTINGS) == (
        f"tag:subnet-{SUB4},option:router,10.0.0.1\n"
        f"tag:port-{VM},option:bootfile-name,pxelinux.0\n"
        f"tag:port-{VM},150,10.0.0.9\n")


# -- IPv6 ---------------------------------------------------------------------------------


def v6(mode: str | None, ra: str | None = None, cidr: str = "2001:db8::/64") -> dict:
    return subnet(SUB6, cidr, "2001:db8::1", ipv6_address_mode=mode, ipv6_ra_mode=ra)


def test_ipv6_modes_decide_what_is_served() -> None:
    assert r.is_served(v6("dhcpv6-stateful")) and r.assigns_addresses(v6("dhcpv6-stateful"))
    assert r.is_served(v6("dhcpv6-stateless"))
    assert not r.assigns_addresses(v6("dhcpv6-stateless"))
    assert not r.is_served(v6("slaac", "slaac"))
    assert r.is_served(v6(None))  # no mode at all: stateful, as upstream
    assert not r.is_served(v6(None, "slaac"))
    assert not r.is_served(v6("dhcpv6-stateful", cidr="2001:db8::/56"))


def test_ipv6_stateless_gives_options_only() -> None:
    dport = port(DHCP_PORT, "fa:16:3e:00:00:02", (SUB6, "2001:db8::2"), owner="network:dhcp")
    vm = port(VM, "fa:16:3e:00:00:05", (SUB6, "2001:db8::5"), opts=[
        {"opt_name": "dns-server", "opt_value": "[2001:db8::53]", "ip_version": 6}])
    net = network(v6("dhcpv6-stateless", "dhcpv6-stateless"), ports=[vm], dhcp_port=dport)
    assert r.hosts_file(net, SETTINGS) == f"fa:16:3e:00:00:05,set:port-{VM}\n"
    assert r.opts_file(net, SETTINGS) == (
        f"tag:subnet-{SUB6},option6:dns-server,[2001:db8::2]\n"
        f"tag:subnet-{SUB6},option6:domain-search,openstacklocal\n"
        f"tag:port-{VM},option6:dns-server,[2001:db8::53]\n")
    cmd = r.command(net, DHCP_PORT, PATHS, SETTINGS)
    assert f"--dhcp-range=set:subnet-{SUB6},2001:db8::,static,64,86400s" in cmd


def test_ipv6_stateful_subnet_dns_servers_no_router_no_mtu() -> None:
    net = network(v6("dhcpv6-stateful", "dhcpv6-stateful") | {
        "dns_nameservers": ["2001:4860:4860::8888"]}, ports=[], dhcp_port=None)
    assert r.opts_file(net, r.Settings(dns_domain="")) == (
        f"tag:subnet-{SUB6},option6:dns-server,[2001:4860:4860::8888]\n")


# -- command line -------------------------------------------------------------------------


def test_command_line_ranges_per_dhcp_subnet() -> None:
    net = network(subnet(), subnet(SUB4B, "10.1.0.0/24", enable_dhcp=False),
                  v6("slaac", "slaac"))
    settings = r.Settings(dns_servers=("8.8.8.8", "9.9.9.9"), lease_duration=600)
    d = PATHS.directory
    assert r.command(net, DHCP_PORT, PATHS, settings) == [
        "dnsmasq", "--no-hosts", "--no-resolv", f"--pid-file={d}/pid",
        f"--dhcp-hostsfile={d}/host", f"--addn-hosts={d}/addn_hosts",
        f"--dhcp-optsfile={d}/opts", f"--dhcp-leasefile={d}/leases",
        "--bind-dynamic", "--interface=ns-dddddddd-11", "--except-interface=lo",
        f"--dhcp-range=set:subnet-{SUB4},10.0.0.0,static,255.255.255.0,600s",
        "--dhcp-lease-max=256", "--conf-file=/dev/null",
        "--server=8.8.8.8", "--server=9.9.9.9", "--domain=openstacklocal"]


def test_command_line_infinite_lease_and_lease_max_cap() -> None:
    net = network(subnet(cidr="10.0.0.0/8"))
    cmd = r.command(net, DHCP_PORT, PATHS, r.Settings(lease_duration=-1, lease_max=1000))
    assert f"--dhcp-range=set:subnet-{SUB4},10.0.0.0,static,255.0.0.0,infinite" in cmd
    assert "--dhcp-lease-max=1000" in cmd


def test_files_change_but_command_line_does_not_when_ports_change() -> None:
    before = network()
    after = network(ports=[port(VM, "fa:16:3e:00:00:05", (SUB4, "10.0.0.9"))])
    assert r.hosts_file(before, SETTINGS) != r.hosts_file(after, SETTINGS)
    assert (r.command(before, DHCP_PORT, PATHS, SETTINGS)
            == r.command(after, DHCP_PORT, PATHS, SETTINGS))


# -- the port and whether to serve ----------------------------------------------------


def test_interface_addresses_and_port_completeness() -> None:
    net = network(subnet(), subnet(SUB4B, "10.1.0.0/24"))
    assert r.interface_addresses(net, DPORT) == {"10.0.0.2/24"}
    assert not r.port_complete(net, DPORT)  # no address on the second subnet yet
    assert r.port_complete(network(), DPORT)
    assert not r.port_complete(network(), None)


def test_networks_served_only_admin_up_with_dhcp_subnet() -> None:
    assert r.needs_port(network())
    assert not r.needs_port(network() | {"admin_state_up": False})
    assert not r.needs_port(network(subnet(enable_dhcp=False)))
    assert not r.needs_port(network() | {"subnets": []})


# -- agent --------------------------------------------------------------------------------


def make_conf(*args: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    dhcp_config.register_opts(conf)
    conf(args=list(args), project="neutrino")
    return conf


def test_state_report_is_upstreams_shape(tmp_path) -> None:
    ini = tmp_path / "dhcp_agent.ini"
    ini.write_text("[DEFAULT]\nhost = net-1\ndhcp_lease_duration = 600\n"
                   "[AGENT]\navailability_zone = az2\n")
    conf = make_conf("--config-file", str(ini))
    state = agent_state("net-1", conf, Result(networks=2, subnets=3, ports=7), True)
    assert state == {
        "agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent",
        "topic": "dhcp_agent", "host": "net-1", "availability_zone": "az2",
        "start_flag": True,
        "configurations": {"dhcp_driver": "dnsmasq", "dhcp_lease_duration": 600,
                           "log_agent_heartbeats": False, "networks": 2,
                           "subnets": 3, "ports": 7}}
    assert "start_flag" not in agent_state("net-1", conf, None, False)


def test_config_defaults_and_interface_driver_check(tmp_path) -> None:
    conf = make_conf()
    assert conf.dhcp_lease_duration == 86400
    assert conf.AGENT.availability_zone == "nova"
    assert conf.dhcp_confs == conf.state_path + "/dhcp"
    assert check_config(conf) == []
    ini = tmp_path / "dhcp_agent.ini"
    ini.write_text("[DEFAULT]\ninterface_driver = macvtap\n")
    assert check_config(make_conf("--config-file", str(ini))) == [
        "interface_driver 'macvtap' is not supported: use 'linuxbridge' or 'openvswitch'"]
    ini.write_text("[DEFAULT]\ninterface_driver = openvswitch\n[ovs]\n"
                   "integration_bridge = br-x\n")
    ovs = make_conf("--config-file", str(ini))
    assert check_config(ovs) == []
    from neutrino.agent.dhcp import config as dhcp_config
    assert dhcp_config.ovs_plug(ovs) == ("unix:/var/run/openvswitch/db.sock", "br-x")
    assert dhcp_config.ovs_plug(conf) is None
    ini.write_text("[DEFAULT]\ninterface_driver = "
                   "neutron.agent.linux.interface.BridgeInterfaceDriver\n")
    assert check_config(make_conf("--config-file", str(ini))) == []


REPO = Path(__file__).resolve().parents[3]


def test_dhcp_agent_sample_config_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "dhcp_agent.ini"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from oslo_config.generator import main; sys.exit(main())",
         "--config-file", str(REPO / "etc" / "oslo-config-generator-dhcp-agent.conf"),
         "--output-file", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (REPO / "etc" / "dhcp_agent.ini").read_text(), (
        "etc/dhcp_agent.ini is out of date: run `make sample-config`")

"""The `neutrino` CLI's connection to the API: a keystoneauth session, from the usual
``OS_*`` variables or ``clouds.yaml`` (``--os-cloud``, read by openstacksdk's config
loader as every OpenStack client does), or noauth (``--noauth``/``NEUTRINO_NOAUTH``:
the ``X-Project-Id``/``X-Roles`` headers a noauth server trusts).

The CLI talks to the server over HTTP only: what it shows is what the API says."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import noauth, session

DEFAULT_ENDPOINT = "http://127.0.0.1:9696"
TIMEOUT = 60.0
PAGE = 500  # list pages: a big cloud is fetched in bounded requests


class ApiError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


class Client:
    """JSON over a keystoneauth session; paths are relative to the endpoint
    (``/v2.0/...``)."""

    def __init__(self, sess: session.Session, endpoint: str,
                 headers: dict[str, str] | None = None) -> None:
        self.session = sess
        self.endpoint = endpoint.rstrip("/").removesuffix("/v2.0")
        self.headers = {"Accept": "application/json", **(headers or {})}

    def request(self, method: str, path: str, body: Any = None,
                params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        url = self.endpoint + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        try:
            response = self.session.request(url, method, json=body, headers=self.headers,
                                            raise_exc=False, timeout=TIMEOUT)
        except ks_exc.ConnectFailure as error:
            raise ApiError(f"cannot reach {self.endpoint}: {error}") from None
        except ks_exc.ClientException as error:
            raise ApiError(f"{method} {path}: {error}") from None
        if response.status_code >= 400:
            raise ApiError(f"{method} {path}: {response.status_code} "
                           f"{_error_message(response)}", response.status_code)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def show(self, resource: str, collection_path: str, id_: str) -> dict[str, Any]:
        item: dict[str, Any] = self.request("GET", f"/v2.0/{collection_path}/{id_}")[resource]
        return item

    def list(self, collection: str, path: str | None = None,
             params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.iterate(collection, path, params))

    def iterate(self, collection: str, path: str | None = None,
                params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page (marker pagination)."""
        path = path or f"/v2.0/{collection.replace('_', '-')}"
        query = dict(params or {})
        query.setdefault("limit", PAGE)
        while True:
            answer = self.request("GET", path, params=query)
            items = answer.get(collection, [])
            yield from items
            if len(items) < int(query["limit"]) or not any(
                    link.get("rel") == "next" for link in answer.get(
                        f"{collection}_links", [])):
                return
            query["marker"] = items[-1]["id"]


def _error_message(response: Any) -> str:
    try:
        body = response.json()
        return str(body["NeutronError"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(response.text[:500])


def add_arguments(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Connection options (on the top parser, and again on each subcommand so they
    may follow it; there with defaults suppressed, not to override the top's)."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value
    group = parser.add_argument_group("connection")
    group.add_argument("--os-cloud", default=default(os.environ.get("OS_CLOUD")),
                       help="a cloud of clouds.yaml (default $OS_CLOUD; without it the "
                            "OS_* variables)")
    group.add_argument("--noauth", action="store_true", default=default(
        _truthy(os.environ.get("NEUTRINO_NOAUTH"))),
                       help="no Keystone: the server's noauth headers (default "
                            "$NEUTRINO_NOAUTH)")
    group.add_argument("--endpoint", default=default(None),
                       help="the API's URL (noauth: default $NEUTRINO_ENDPOINT, else "
                            f"{DEFAULT_ENDPOINT}; Keystone: overrides the catalog's)")
    group.add_argument("--project", default=default(None),
                       help="the project to show (topology) and, with noauth, to act in "
                            "(X-Project-Id); noauth default: none, the server's admin "
                            "context")
    group.add_argument("--roles", default=default("admin,member,reader"),
                       help="noauth: X-Roles (default admin,member,reader)")


def connect(args: argparse.Namespace, env: dict[str, str] | None = None) -> Client:
    env = dict(os.environ) if env is None else env
    if args.noauth:
        endpoint = (args.endpoint or env.get("NEUTRINO_ENDPOINT")
                    or _url_or_none(env.get("NEUTRINO_NOAUTH")) or DEFAULT_ENDPOINT)
        headers = {}
        if args.project:
            headers = {"X-Project-Id": args.project, "X-Roles": args.roles,
                       "X-User-Id": env.get("USER", "neutrino-cli")}
        return Client(session.Session(auth=noauth.NoAuth(endpoint=endpoint)), endpoint,
                      headers)
    if not (args.os_cloud or env.get("OS_AUTH_URL") or env.get("OS_CLOUD")):
        raise ApiError("no credentials: set OS_CLOUD (clouds.yaml) or OS_AUTH_URL and "
                       "friends, or use --noauth [--endpoint URL] for a noauth server")
    import openstack.config
    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=args.os_cloud)
        sess = region.get_session()
        endpoint = args.endpoint or region.get_session_endpoint("network")
    except Exception as error:  # noqa: BLE001 - config/auth errors of many kinds
        raise ApiError(f"credentials: {error}") from None
    if not endpoint:
        raise ApiError("no network endpoint in the service catalog (use --endpoint)")
    return Client(sess, endpoint)


def _url_or_none(value: str | None) -> str | None:
    return value if value and value.startswith(("http://", "https://")) else None

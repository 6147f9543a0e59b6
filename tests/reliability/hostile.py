"""Hostile requests generated from the server's own OpenAPI document (issue 18).

`Sweep` reads ``/v2.0/openapi.json`` and, for each operation in it, hypothesis draws
requests that mix plausible values (existing ids, values inside the declared bounds)
with hostile ones: integers beyond every column, strings beyond their length, NUL,
non-BMP and control characters, wrong JSON types and shapes, malformed and over-long
ids in paths, wrong content types, over-long identity headers. Every answer must be
below 500, and every error a Neutron error body of bounded size.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import strategies as st

INT32_MAX = 2**31 - 1
# Integers at and beyond the edges of what a column holds, and of what drivers bind.
EDGE_INTS = [0, -1, 1, 255, 4095, 4096, 65535, 65536, 16777215, 16777216, INT32_MAX,
             INT32_MAX + 1, -2**31, -2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
             -2**63 - 1, 2**64, 10**30, -10**30]
EDGE_STRINGS = ["", " ", "\x00", "a\x00b", "%00", "a" * 255, "a" * 256, "x" * 4096,
                "\u00e9" * 200, "\U0001F600" * 80, "\t\r\n", "\x7f\x01", "../../etc",
                "' OR '1'='1", "\"; DROP TABLE networks; --", "\\", "None", "null",
                "true", "-1", "1e309", "0x10", "10.0.0.0/8", "::/0", "fe80::1%eth0",
                "256.256.256.256", "00000000-0000-0000-0000-000000000000",
                "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA", "ffffffff-ffff-ffff-ffff-ffffffffffffx",
                "fa:16:3e:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"]
# Path segments that name nothing (or that a router might trip over).
EDGE_IDS = ["%00", "x" * 300, "%ff%fe", "..", "%2e%2e", "%2F", "a%00b", "\u00e9",
            "6F5B0D8E-2A4B-4C1E-9D7A-0B1C2D3E4F50", "6f5b0d8e-2a4b-4c1e-9d7a-0b1c2d3e4f5",
            "1" * 36, "-1", "0", "%20"]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain",
                 "application/xml", "application/x-www-form-urlencoded", None]
# Request line and header limits: gunicorn answers these (its own small HTML page)
# before the application sees the request.
HTTP_SERVER_LIMITS = {414, 431}
# Largest Neutron error message the server sends (api/errors.py MESSAGE_MAX) plus room
# for the JSON around it.
ERROR_BODY_MAX = 2048


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(EDGE_INTS),
                        st.integers(), st.floats(allow_nan=False), st.sampled_from(EDGE_STRINGS),
                        st.text(max_size=40))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=12)),
                        inner, max_size=4)), max_leaves=12)


@dataclass
class Operation:
    method: str
    path: str                  # /v2.0/networks/{id}
    spec: dict[str, Any]
    path_params: list[dict[str, Any]]


@dataclass
class Sweep:
    """Generated requests against one server, with what came back."""

    base_url: str
    doc: dict[str, Any]
    ids: dict[str, list[str]] = field(default_factory=dict)   # collection path -> ids
    # Items as the server rendered them, by collection path: bodies start from one
    # and change a few attributes (a mutation reaches deeper than random bodies).
    samples: dict[str, list[dict]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)   # "status method url" per request
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=60)
        self.operations = [
            Operation(method.upper(), path, spec, item.get("parameters", []))
            for path, item in self.doc["paths"].items()
            for method, spec in item.items() if method != "parameters"]
        self.operations.extend(quota_operations())
        self.ids.setdefault("/v2.0/quotas", []).extend(["sweep-project", "fake_project_id"])

    # -- values from schemas ----------------------------------------------------------

    def value(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """Plausible values of a schema, mixed with hostile ones."""
        return st.one_of(self.plausible(schema), self.plausible(schema), json_values())

    def plausible(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        if "enum" in schema:
            return st.sampled_from(schema["enum"] or [None])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low, high = schema.get("minimum", -2**31), schema.get("maximum", INT32_MAX)
            return st.one_of(st.integers(low, high), st.sampled_from([low, high,
                                                                     low - 1, high + 1]))
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "uuid":
                return st.one_of(self.known_id(), st.uuids().map(str))
            if fmt == "ip-address":
                return st.ip_addresses().map(str)
            longest = schema.get("maxLength", 64)
            return st.one_of(st.text(max_size=min(longest, 64)),
                             st.text(min_size=longest, max_size=longest + 2))
        if kind == "array":
            items = schema.get("items", {})
            return st.lists(self.plausible(items) if items else json_values(), max_size=3)
        if kind == "object":
            return st.dictionaries(st.text(max_size=10), json_values(), max_size=3)
        return json_values()

    def known_id(self, collection: str | None = None) -> st.SearchStrategy[str]:
        """An id of what exists (of `collection`, else of anything). The pool grows
        as the sweep creates; the strategy's shape must not (hypothesis replays
        choices), so an index is drawn and looked up when the value is made."""
        def pick(index: int) -> str:
            pool = (self.ids.get(collection, []) if collection
                    else [i for ids in self.ids.values() for i in ids])
            return pool[index % len(pool)] if pool else str(uuid.UUID(int=index))
        return st.integers(0, 2**32).map(pick)

    def sample(self, collection: str) -> st.SearchStrategy[dict]:
        def pick(index: int) -> dict:
            pool = self.samples.get(collection, [])
            return pool[index % len(pool)] if pool else {}
        return st.integers(0, 2**32).map(pick)

    # -- requests ---------------------------------------------------------------------

    def request(self, data: st.DataObject, op: Operation) -> httpx.Response:
        path = self.fill_path(data, op)
        query = self.query(data, op) if op.method == "GET" else []
        headers = self.headers(data)
        content = None
        body_schema = op.spec.get("requestBody")
        if body_schema is not None or data.draw(st.integers(0, 9)) == 0:
            content, content_type = self.body(data, body_schema,
                                              op.path.split("/{id}")[0])
            if content_type is not None:
                headers["Content-Type"] = content_type.encode()
        url = path + ("?" + urlencode(query) if query else "")
        response = self.client.request(op.method, url, content=content, headers=headers)
        self.record(op, url, response)
        if response.status_code == 201 and op.method == "POST":
            self.remember(op.path, response)
        elif response.status_code == 204 and op.path.endswith("/{id}"):
            self.forget(op.path.split("/{id}")[0], path.rsplit("/", 1)[1])
        return response

    def fill_path(self, data: st.DataObject, op: Operation) -> str:
        path = op.path
        if "{id}" in path:
            collection = path.split("/{id}")[0]
            ident = data.draw(st.one_of(*[self.known_id(collection)] * 3,
                                        st.sampled_from(EDGE_IDS), st.uuids().map(str)))
            path = path.replace("{id}", ident if "%" in ident else quote(ident, safe=""))
        if "{tag}" in path:
            tag = data.draw(st.one_of(st.text(max_size=20), st.sampled_from(EDGE_STRINGS)))
            path = path.replace("{tag}", quote(tag, safe="") or "x")
        return path

    def query(self, data: st.DataObject, op: Operation) -> list[tuple[str, str]]:
        params = op.spec.get("parameters", [])
        if not params:
            return []
        chosen = data.draw(st.lists(st.sampled_from(params), max_size=4))
        out = []
        for param in chosen:
            schema = param["schema"]
            item = schema.get("items", schema)
            value = data.draw(st.one_of(self.plausible(item), st.sampled_from(EDGE_INTS),
                                        st.sampled_from(EDGE_STRINGS)))
            out.append((param["name"], _as_text(value)))
        if data.draw(st.integers(0, 9)) == 0:  # a filter nothing declares
            out.append((data.draw(st.sampled_from(EDGE_STRINGS[:8])) or "x", "1"))
        return out

    def headers(self, data: st.DataObject) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        who = data.draw(st.integers(0, 9))
        if who >= 7:  # a project of its own, as member or admin
            headers["X-Project-Id"] = data.draw(st.sampled_from(
                ["sweep-project", "sweep-other", "p" * 256, "\u00e9" * 10]))
            headers["X-Roles"] = data.draw(st.sampled_from(["member,reader",
                                                            "admin,member,reader", ""]))
        # As bytes: httpx would refuse text beyond ASCII.
        return {k: v.encode("latin-1") for k, v in headers.items() if _header_safe(v)}

    def body(self, data: st.DataObject, spec: dict[str, Any] | None, collection: str
             ) -> tuple[bytes | None, str | None]:
        content_type = data.draw(st.one_of(*[st.just("application/json")] * 6,
                                           st.sampled_from(CONTENT_TYPES)),
                                 label="content-type")
        if data.draw(st.integers(0, 19)) == 0:  # not JSON at all
            return data.draw(st.sampled_from([b"", b"{", b"<x/>", b"\xff\xfe", b"null",
                                              b'{"a":' * 200])), content_type
        if spec is None:
            payload = data.draw(json_values())
        else:
            schema = spec["content"]["application/json"]["schema"]
            payload = self.body_payload(data, schema, collection)
        return json.dumps(payload).encode(), content_type

    def body_payload(self, data: st.DataObject, schema: dict[str, Any],
                     collection: str) -> Any:
        (name, item), = schema["properties"].items()
        shape = data.draw(st.integers(0, 19))
        if shape == 0:
            return data.draw(json_values())
        properties = item.get("properties")
        if properties is None:  # a bare array or scalar body (tags)
            return {name: data.draw(self.value(item))}
        writable = sorted(properties)
        inner: dict[str, Any] = {}
        if data.draw(st.booleans(), label="from an existing item"):
            base = data.draw(self.sample(collection))
            inner = {k: base[k] for k in writable if k in base}
        chosen = data.draw(st.lists(st.sampled_from(writable), max_size=4,
                                    unique=True)) if writable else []
        inner.update({k: data.draw(self.value(properties[k]), label=k) for k in chosen})
        if shape == 1:
            inner[data.draw(st.text(max_size=12))] = data.draw(json_values())
        if shape == 2:  # bulk
            return {name + "s": [inner, inner]}
        return {name: inner}

    # -- bookkeeping ------------------------------------------------------------------

    def record(self, op: Operation, url: str, response: httpx.Response) -> None:
        status = response.status_code
        self.statuses[status] += 1
        self.log.append(f"{status} {op.method} {url[:300]}")
        where = f"{op.method} {url[:200]}"
        if status >= 500:
            self.failures.append(f"{where} -> {status} {response.text[:300]}")
        elif status >= 400 and status not in HTTP_SERVER_LIMITS:
            if len(response.content) > ERROR_BODY_MAX:
                self.failures.append(f"{where} -> {status} with a "
                                     f"{len(response.content)}-byte error body")
            try:
                body = response.json()
            except ValueError:
                body = None
            if not (isinstance(body, dict) and set(body) == {"NeutronError"}):
                self.failures.append(f"{where} -> {status} not a Neutron error: "
                                     f"{response.text[:200]}")

    def forget(self, collection: str, ident: str) -> None:
        """A deleted item: member operations go on with the others."""
        if ident in self.ids.get(collection, []):
            self.ids[collection].remove(ident)
        self.samples[collection] = [i for i in self.samples.get(collection, [])
                                    if i.get("id") != ident]

    def remember(self, path: str, response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            return
        for value in body.values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    self.ids.setdefault(path, []).append(item["id"])
                    self.samples.setdefault(path, []).append(item)


QUOTAS = ["network", "subnet", "subnetpool", "port", "router", "floatingip",
          "security_group", "security_group_rule", "rbac_policy"]


def quota_operations() -> list[Operation]:
    """/v2.0/quotas/{project}: not a collection of the document, a path of its own
    where the project id comes from the URL."""
    limits = {"type": "object", "properties": {
        name: {"type": "integer", "minimum": -1, "maximum": INT32_MAX} for name in QUOTAS}}
    body = {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"quota": limits}}}}}
    return [Operation("GET", "/v2.0/quotas/{id}", {}, []),
            Operation("GET", "/v2.0/quotas/{id}/details", {}, []),
            Operation("PUT", "/v2.0/quotas/{id}", {"requestBody": body}, []),
            Operation("DELETE", "/v2.0/quotas/{id}", {}, [])]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _header_safe(value: str) -> bool:
    """httpx refuses control characters and non-Latin-1 text in header values."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def new_uuid() -> str:
    return str(uuid.uuid4())

"""The request context: who is calling, and on behalf of which project."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    return "req-" + str(uuid.uuid4())


@dataclass
class Context:
    user_id: str | None = None
    project_id: str | None = None
    roles: list[str] = field(default_factory=list)
    is_admin: bool = False
    request_id: str = field(default_factory=new_request_id)
    # Per-request memo of policy decisions (see neutrino.policy).
    policy_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def admin(cls, project_id: str | None = None) -> Context:
        return cls(user_id=None, project_id=project_id, roles=["admin"], is_admin=True)

    def to_policy_credentials(self) -> dict:
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "tenant_id": self.project_id,
            "roles": self.roles,
            "is_admin": self.is_admin,
        }

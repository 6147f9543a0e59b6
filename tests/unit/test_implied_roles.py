"""noauth implies roles as Keystone's default inference rules do."""

from neutrino.api.middleware import implied_roles


def test_admin_implies_member_and_reader() -> None:
    assert implied_roles(["admin"]) == ["admin", "member", "reader"]


def test_member_implies_reader_only() -> None:
    assert implied_roles(["member"]) == ["member", "reader"]


def test_unknown_roles_kept_and_no_duplicates() -> None:
    assert implied_roles(["foo", "reader", "member", "foo"]) == ["foo", "reader", "member"]


def test_reader_implies_nothing() -> None:
    assert implied_roles(["reader"]) == ["reader"]

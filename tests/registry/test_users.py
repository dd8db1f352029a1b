"""Accounts (registry.md §1, §2): add, list, disable, log in; each audited, no password kept."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from srnskit.cli import app
from srnskit.registry.access import Actor
from srnskit.registry.audit import read_entries
from srnskit.registry.db import open_registry
from srnskit.registry.errors import ConflictError, ForbiddenError, NotFoundError
from srnskit.registry.users import add_user, authenticate, disable_user, list_users

PASSWORD = "twelve chars"  # exactly 12 characters: the shortest accepted


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_users_add_list_disable_on_the_command_line(db_url: str) -> None:
    added = _run(
        "users",
        "add",
        "ann",
        "--role",
        "admin",
        "--center",
        "*",
        "--password-stdin",
        "--db",
        db_url,
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.stderr
    # what the command did is said on stderr (docs/cohort-format.md §4), nothing on stdout
    assert added.stdout == ""
    assert added.stderr == "srnskit: added ann (admin; *)\n"
    short = _run(
        "users",
        "add",
        "bob",
        "--role",
        "viewer",
        "--center",
        "A",
        "--password-stdin",
        "--db",
        db_url,
        stdin="eleven char\n",
    )
    assert short.exit_code == 1
    assert "at least 12" in short.stderr
    taken = _run(
        "users",
        "add",
        "ann",
        "--role",
        "viewer",
        "--center",
        "A",
        "--password-stdin",
        "--db",
        db_url,
        stdin=PASSWORD + "\n",
    )
    assert taken.exit_code == 1
    assert "taken" in taken.stderr
    listed = _run("users", "list", "--db", db_url)
    assert listed.stdout.splitlines() == ["name\trole\tcenters\tactive", "ann\tadmin\t*\tyes"]
    assert _run("users", "disable", "nobody", "--db", db_url).exit_code == 1
    disabled = _run("users", "disable", "ann", "--db", db_url)
    assert disabled.exit_code == 0
    assert (disabled.stdout, disabled.stderr) == ("", "srnskit: disabled ann\n")
    assert _run("users", "list", "--db", db_url).stdout.splitlines()[1] == "ann\tadmin\t*\tno"


def test_login_roles_centres_and_the_audit(db_url: str) -> None:
    with open_registry(db_url) as registry, registry.session() as session:
        root = Actor.system("root")
        admin_a = add_user(session, root, "adm", "admin", ["A"], PASSWORD)
        session.commit()
        assert authenticate(session, "adm", PASSWORD) is admin_a
        assert authenticate(session, "adm", PASSWORD + "x") is None
        assert authenticate(session, "nobody", PASSWORD) is None
        actor = Actor.of(admin_a)
        add_user(session, actor, "ent", "data_entry", ["A"], PASSWORD)
        with pytest.raises(ForbiddenError):
            add_user(session, actor, "other", "viewer", ["B"], PASSWORD)
        with pytest.raises(ForbiddenError):
            add_user(session, actor, "net", "viewer", ["*"], PASSWORD)
        with pytest.raises(ConflictError):
            add_user(session, actor, "ent", "viewer", ["A"], PASSWORD)
        add_user(session, root, "bee", "viewer", ["B"], PASSWORD)
        session.commit()
        assert [u.name for u in list_users(session, actor)] == ["adm", "ent"]
        with pytest.raises(NotFoundError):
            disable_user(session, actor, "bee")  # another centre's user: not the admin's to see
        disable_user(session, actor, "ent")
        session.commit()
        assert authenticate(session, "ent", PASSWORD) is None
        viewer = Actor("v", "viewer", frozenset({"A"}))
        with pytest.raises(ForbiddenError):
            read_entries(session, viewer)
        entries = read_entries(session, actor)
        # newest first; the admin of A reads A's entries, not B's user
        assert [(e["action"], e["record"]) for e in entries] == [
            ("update", "ent"),
            ("create", "ent"),
            ("create", "adm"),
        ]
        assert entries[0]["old"] == {"active": True}
        assert entries[0]["new"] == {"active": False}
        assert all(PASSWORD not in str(e) and "argon2" not in str(e) for e in entries)

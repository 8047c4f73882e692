"""The callers of the rights matrix, shared by the in-process and the live tier.

Callers: anonymous, a user of room A (session cookie), a user of room B (API token),
an admin (session), an admin's token, a kiosk link the admin made for room B (a
token limited to it: never an admin's rights, issue 16), a revoked token, an expired
session (password changed since login), a logged-out session (its cookie copied
before the logout) and the session of a user since removed and added again, now as
an admin (issue 12 items 4 and 6). Each must get exactly what ``sensorhub/rights.py``
allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sensorhub.storage.users import Users
from tests.conftest import PASSWORD

SENSORS = ("a1", "b1")
WRONG_PASSWORD = "not the password 9f3k"
CHANGED_PASSWORD = PASSWORD + " changed"


@dataclass
class Caller:
    """One kind of caller: how it authenticates and what it may see (None: refused)."""

    name: str
    visible: frozenset[str] | None
    refusal: str = ""  # the reason a refused caller is given
    headers: dict[str, str] = field(default_factory=dict)  # Authorization or Cookie
    socket_auth: dict[str, str] | None = None
    admin: bool = False  # may use the admin's tools (issue 16)

    @property
    def has_session(self) -> bool:
        return "Cookie" in self.headers


def make_callers(users: Users, cookie: Callable[[str], dict[str, str]],
                 logout: Callable[[dict[str, str]], None]) -> list[Caller]:
    """Every kind of caller of a site whose users alice (a), bob (b) and root exist.

    ``cookie(name)`` logs a user in through the real form and returns the Cookie
    header of that session; the caller sends it as a header every time, so a server
    that clears a stale session still sees the stale cookie on the next request.
    ``logout(headers)`` logs that session out through the real form.
    """
    users.add("carol", PASSWORD, rooms=frozenset({"a"}))
    users.add("dave", PASSWORD, rooms=frozenset({"a", "b"}))
    users.add("erin", PASSWORD, rooms=frozenset({"a"}))
    users.add("frank", PASSWORD, rooms=frozenset({"a"}))
    alice, root, carol = cookie("alice"), cookie("root"), cookie("carol")
    erin, frank = cookie("erin"), cookie("frank")
    users.set_password("carol", CHANGED_PASSWORD)  # her session is now stale
    logout(erin)  # the copy in ``erin`` outlives the browser's
    users.remove("frank")
    users.add("frank", PASSWORD, admin=True)  # same name, generation 0 again: an admin
    revoked_id, revoked = users.create_token("dave")
    users.revoke_token(revoked_id)
    bob = users.create_token("bob")[1]
    root_token = users.create_token("root")[1]
    kiosk = users.create_token("root", "hall screen", frozenset({"b"}))[1]
    return [
        Caller("anonymous", None, "authentication required"),
        Caller("room A user (session)", frozenset({"a1"}), headers=alice),
        Caller("room B user (token)", frozenset({"b1"}),
               headers={"Authorization": f"Bearer {bob}"}, socket_auth={"token": bob}),
        Caller("admin (session)", frozenset(SENSORS), headers=root, admin=True),
        Caller("admin (token)", frozenset(SENSORS), admin=True,
               headers={"Authorization": f"Bearer {root_token}"},
               socket_auth={"token": root_token}),
        Caller("kiosk link of the admin (room B)", frozenset({"b1"}),
               headers={"Authorization": f"Bearer {kiosk}"}, socket_auth={"token": kiosk}),
        Caller("revoked token", None, "invalid or revoked token",
               headers={"Authorization": f"Bearer {revoked}"}, socket_auth={"token": revoked}),
        Caller("expired session", None, "session expired", headers=carol),
        Caller("logged-out session", None, "session expired", headers=erin),
        Caller("session of a re-added user", None, "session expired", headers=frank),
    ]


def secrets_of(callers: list[Caller]) -> list[str]:
    """What must never reach the log: every token of the callers and every password."""
    tokens = [c.socket_auth["token"] for c in callers if c.socket_auth]
    return [*tokens, PASSWORD, WRONG_PASSWORD, CHANGED_PASSWORD]

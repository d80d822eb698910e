"""NATS users of the local stack: one per service (full rights) and one per agency, which
may only publish under its own intake.<agency_id>.> and receive only its own replies (its
own inbox prefix). Agency users cannot touch events.>, reports.> or $JS.API.>.

The users live in a JSON file in the data folder (mode 0600); `auth.conf` is rendered from
it and included by the server's configuration. Production would use NATS accounts with
nkeys or JWTs from an operator; the permissions are the same.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from dataclasses import dataclass, field
from pathlib import Path

from shared.subjects import inbox_prefix

SERVICES = ("intake", "scheduling", "reporting", "admin")


def agency_user(agency_id: str) -> str:
    return f"agency-{agency_id}"


@dataclass
class NatsUsers:
    services: dict[str, str] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> NatsUsers:
        users = cls(**json.loads(path.read_text())) if path.exists() else cls()
        for name in SERVICES:
            users.services.setdefault(name, secrets.token_urlsafe(24))
        return users

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"services": self.services, "agencies": self.agencies}, fh, indent=2)
        tmp.replace(path)

    def add_agency(self, agency_id: str) -> str:
        """The agency's NATS password (made on first call, the same afterwards)."""
        return self.agencies.setdefault(agency_id, secrets.token_urlsafe(24))

    def render(self) -> str:
        """The `authorization` block of nats-server's configuration."""
        lines = ["authorization {", "  users = ["]
        for name, password in sorted(self.services.items()):
            lines.append(f"    {{user: {json.dumps(name)}, password: {json.dumps(password)}}}")
        for agency_id, password in sorted(self.agencies.items()):
            lines.append(
                f"    {{user: {json.dumps(agency_user(agency_id))}, password: {json.dumps(password)},"
                f" permissions: {{publish: {{allow: [{json.dumps(f'intake.{agency_id}.>')}]}},"
                f" subscribe: {{allow: [{json.dumps(inbox_prefix(agency_id) + '.>')}]}}}}}}"
            )
        lines += ["  ]", "}"]
        return "\n".join(lines) + "\n"


def add_agency_locally(data_dir: Path, agency_id: str) -> str:
    """Give `agency_id` a NATS user on the local stack (reloading a running server);
    returns its password."""
    users_file = data_dir / "secrets" / "nats-users.json"
    users = NatsUsers.load(users_file)
    password = users.add_agency(agency_id)
    users.save(users_file)
    # The single server's folder, and each node's of a cluster (`qianshou up --nats-nodes 3`).
    for folder in [data_dir / "nats", *sorted((data_dir / "nats-cluster").glob("node-*"))]:
        _reload_users(folder, users)
    return password


def _reload_users(folder: Path, users: NatsUsers) -> None:
    auth = folder / "auth.conf"
    if not folder.exists():
        return
    auth.write_text(users.render())
    pid_file = folder / "nats.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)  # reload, keep clients
        except (ProcessLookupError, ValueError):
            pass  # not running: the next start reads auth.conf

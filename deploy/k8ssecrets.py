"""The contents of a Kubernetes deployment's Secrets, made once in a folder the operator keeps
safe (never in the repository): token signing secret, personal-data master key, NATS users
(the server's auth.conf and the services' passwords) and the PostgreSQL roles' passwords.

    python -m deploy.k8ssecrets ~/qianshou-jilin-secrets [--agency lanxing ...]

Running it again keeps every existing secret (so tokens, ciphertexts and connections stay
valid) and only adds what is missing, e.g. a new agency's NATS user. It prints the kubectl
commands that load the folder into the cluster (docs/operations.md, "Secrets").
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from deploy.natsauth import NatsUsers

SERVICES = ("intake", "scheduling", "reporting")


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _keep(path: Path, make: str) -> str:
    """The file's content, or `make` written there first."""
    if not path.exists():
        _write(path, make)
    return path.read_text().strip()


def make(folder: Path, agencies: list[str]) -> dict[str, Path]:
    """Fill `folder`; returns the file behind each Secret."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = _keep(folder / "token-secret", secrets.token_hex(32))
    pii = _keep(folder / "pii-key", secrets.token_hex(32))  # 64 hex characters
    users_file = folder / "nats-users.json"
    users = NatsUsers.load(users_file)
    for agency in agencies:
        users.add_agency(agency)
    users.save(users_file)
    files = {
        "qianshou-tokens": folder / "tokens.env",
        "qianshou-pii": folder / "pii.env",
        "qianshou-nats-users": folder / "nats-users.env",
        "qianshou-nats-auth": folder / "auth.conf",
    }
    _write(files["qianshou-tokens"], f"QIANSHOU_TOKEN_SECRETS={token}\n")
    _write(files["qianshou-pii"], f"QIANSHOU_PII_KEY={pii}\n")
    _write(
        files["qianshou-nats-users"],
        "".join(f"{n.upper()}_NATS_PASSWORD={users.services[n]}\n" for n in (*SERVICES, "admin")),
    )
    _write(files["qianshou-nats-auth"], users.render())
    for service in SERVICES:
        # Hex only: the password never needs quoting in a URL or a shell.
        files[f"qianshou-pg-{service}"] = folder / f"pg-{service}.password"
        _keep(files[f"qianshou-pg-{service}"], secrets.token_hex(24))
    return files


def kubectl_commands(files: dict[str, Path], namespace: str) -> list[str]:
    """`kubectl create secret` for each file, as apply-able YAML (re-runnable)."""
    out = []
    for name, path in files.items():
        if path.suffix == ".env":
            source = f"--from-env-file={path}"
            kind = "generic"
        elif path.name == "auth.conf":
            source = f"--from-file=auth.conf={path}"
            kind = "generic"
        else:
            service = name.removeprefix("qianshou-pg-")
            source = f"--from-literal=username={service} --from-file=password={path}"
            kind = "generic --type=kubernetes.io/basic-auth"
        out.append(
            f"kubectl -n {namespace} create secret {kind} {name} {source}"
            " --dry-run=client -o yaml | kubectl apply -f -"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.k8ssecrets", description=__doc__)
    parser.add_argument("folder", type=Path, help="where the secrets are kept (outside the repo)")
    parser.add_argument("--agency", action="append", default=[], help="add an agency's NATS user")
    parser.add_argument("--namespace", default="qianshou-jilin")
    args = parser.parse_args(argv)
    files = make(args.folder, args.agency)
    print("\n".join(kubectl_commands(files, args.namespace)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Security against the real stack: NATS permissions per agency, tokens (rotation, expiry,
revocation, rate limits), and personal data (never in plain text outside intake's
encrypted columns, readable only with an audited reason, erasable)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from nats.aio.client import Client

from deploy.natsauth import add_agency_locally, agency_user, inbox_prefix
from deploy.natsserver import LocalNats
from deploy.stack import Stack
from shared.settings import with_database
from shared.tokens import Principal, issue
from tests.conftest import TEST_SECRET
from tests.support.events import agency, client, envelope, read_stream, visit
from tests.support.events import pairing as pairing_of
from tests.support.intake import post_events
from tests.support.polling import eventually
from tests.support.reports import report

PERSONAL = ("金顺姬", "22240519400101123X", "13904331234")


async def _agency_client(server: LocalNats, agency_id: str, errors: list[str]) -> Client:
    assert server.users is not None

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await nats.connect(
        server.url,
        user=agency_user(agency_id),
        password=server.users.agencies[agency_id],
        inbox_prefix=inbox_prefix(agency_id).encode(),
        error_cb=on_error,
    )


async def test_agency_nats_user_is_confined_to_its_own_subjects(
    stack: Stack, nats_server: LocalNats
) -> None:
    stack.up("intake")
    errors: list[str] = []
    lanxing = await _agency_client(nats_server, "lanxing", errors)
    try:
        reply = await lanxing.request(
            "intake.lanxing.agency-registered",
            orjson.dumps(agency("lanxing", "220102")),
            timeout=10,
        )
        assert orjson.loads(reply.data)["status"] == "accepted"

        await lanxing.publish(
            "intake.yanghua.visit-logged", orjson.dumps(visit("c-1", agency_id="yanghua"))
        )
        await lanxing.subscribe("events.>")
        await lanxing.subscribe("_INBOX.>")
        await lanxing.publish("$JS.API.STREAM.INFO.EVENTS", b"")
        await lanxing.flush()
        await eventually(lambda: len(errors) >= 4, timeout_s=10, what="four permission violations")
        joined = " ".join(errors).lower()
        assert 'permissions violation for publish to "intake.yanghua.visit-logged"' in joined
        assert 'permissions violation for subscription to "events.>"' in joined
        assert 'permissions violation for subscription to "_inbox.>"' in joined
        assert "$js.api.stream.info.events" in joined
    finally:
        await lanxing.close()


async def test_agency_added_later_gets_working_credentials(
    stack: Stack, nats_server: LocalNats
) -> None:
    """`qianshou agency add` on a running server: the new user works without a restart."""
    stack.up("intake")
    data_dir = nats_server.data_dir.parent
    (data_dir / "secrets").mkdir(exist_ok=True)
    assert nats_server.users is not None
    nats_server.users.save(data_dir / "secrets" / "nats-users.json")
    password = add_agency_locally(data_dir, "newcomer")

    async def connects() -> bool:
        try:
            nc = await nats.connect(
                nats_server.url,
                user=agency_user("newcomer"),
                password=password,
                inbox_prefix=inbox_prefix("newcomer").encode(),
                allow_reconnect=False,
            )
        except Exception:
            return False
        reply = await nc.request(
            "intake.newcomer.agency-registered",
            orjson.dumps(agency("newcomer", "222405")),
            timeout=10,
        )
        await nc.close()
        return orjson.loads(reply.data)["status"] == "accepted"

    await eventually(connects, timeout_s=20, what="the reloaded server accepts the new user")


async def test_tokens_rotation_expiry_revocation_and_rate_limit(
    stack: Stack, token: Callable[..., str]
) -> None:
    new_secret = "rotated-secret-0123456789abcdefghij"
    stack.extra_env["QIANSHOU_TOKEN_SECRETS"] = f"{new_secret},{TEST_SECRET}"
    stack.extra_env["QIANSHOU_RATE_LIMIT_PER_S"] = "5"
    stack.up("intake")
    url = f"{stack.services['intake'].url}/v1/events/none?agency=lanxing"
    old = token("agency", "lanxing")
    new = issue(new_secret, Principal("agency", agency_id="lanxing"))

    def status(tok: str) -> int:
        return httpx.get(url, headers={"Authorization": f"Bearer {tok}"}).status_code

    assert status(old) == 404 and status(new) == 404  # both keys valid during the rotation
    assert status(token("agency", "lanxing", ttl_s=-5)) == 401  # expired

    limited = [httpx.get(url, headers={"Authorization": f"Bearer {new}"}) for _ in range(30)]
    over = [r for r in limited if r.status_code == 429]
    assert over and over[0].json()["code"] == "rate_limited" and "Retry-After" in over[0].headers
    other = token("agency", "yanghua")  # another agency is not held back by lanxing's limit
    assert (
        httpx.get(
            url.replace("lanxing", "yanghua"), headers={"Authorization": f"Bearer {other}"}
        ).status_code
        == 404
    )

    revoke = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "token", "revoke", old],
        env=stack.service_env("intake"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "revoked token" in revoke.stdout
    await eventually(lambda: status(old) == 401, timeout_s=20, what="the revoked token refused")

    stack.services["intake"].stop()
    stack.extra_env["QIANSHOU_TOKEN_SECRETS"] = new_secret  # the old key retired
    stack.up("intake")
    assert status(token("agency", "lanxing")) == 401
    assert status(new) in (404, 429)


async def _personal_data_leaks(pg_url: str, prefix: str, nc: Client) -> list[str]:
    """Every place outside intake's encrypted columns where a plain value shows up."""
    found = []
    for service in ("intake", "scheduling", "reporting"):
        conn = await asyncpg.connect(with_database(pg_url, f"{prefix}_{service}"))
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                " AND table_type = 'BASE TABLE'"
            )
            for t in tables:
                name = f'"{t["table_schema"]}"."{t["table_name"]}"'
                rows = await conn.fetch(f"SELECT row_to_json(x)::text AS j FROM {name} x")
                for row in rows:
                    hits = [v for v in PERSONAL if v in row["j"]]
                    found += [f"{service}:{name}:{v}" for v in hits]
        finally:
            await conn.close()
    for stream, subject in (("EVENTS", "events.>"), ("REPORTS", "reports.>")):
        for message in await read_stream(nc, subject, stream=stream):
            raw = orjson.dumps(message).decode()
            found += [f"{stream}:{v}" for v in PERSONAL if v in raw]
    return found


async def test_personal_data_never_leaves_intake_and_erasure_keeps_the_figures(
    stack: Stack, nc: Client, pg_url: str, db_prefix: str, token: Callable[..., str]
) -> None:
    stack.up("intake", "scheduling", "reporting")
    yanghua = token("agency", "yanghua")
    events = [
        agency("yanghua", "222405"),
        client("elder-1", agency_id="yanghua"),
        visit("elder-1", agency_id="yanghua"),
    ]
    assert {r["status"] for r in post_events(stack, events, yanghua).json()} == {"accepted"}
    admin = token("admin")

    def served() -> dict[str, Any] | None:
        body = report(stack, admin, region="22").json()
        return body if body.get("clients_served") == 1 and body["clients_registered"] == 1 else None

    before = await eventually(served, timeout_s=30)
    jilin = token("province", region="22")
    httpx.post(
        f"{stack.services['reporting'].url}/v1/reports/publish",
        params={"region": "22", "period": "2019"},
        headers={"Authorization": f"Bearer {jilin}"},
    )
    assert await _personal_data_leaks(pg_url, db_prefix, nc) == []

    base = f"{stack.services['intake'].url}/v1/clients/elder-1"
    auth = {"Authorization": f"Bearer {yanghua}"}
    assert (
        httpx.get(f"{base}/personal-data", headers=auth).status_code == 422
    )  # a reason is required
    read = httpx.get(
        f"{base}/personal-data", params={"reason": "home visit address check"}, headers=auth
    )
    assert read.status_code == 200 and read.json()["id_number"] == PERSONAL[1]
    other = {"Authorization": f"Bearer {token('agency', 'lanxing')}"}
    assert (
        httpx.get(f"{base}/personal-data", params={"reason": "curious"}, headers=other).status_code
        == 404
    )
    assert (
        httpx.get(
            f"{base}/personal-data",
            params={"reason": "audit"},
            headers={"Authorization": f"Bearer {admin}"},
        ).status_code
        == 403
    )

    erased = httpx.post(
        f"{base}/erasure", json={"reason": "the client asked (PIPL art. 47)"}, headers=auth
    )
    assert erased.status_code == 200
    gone = httpx.get(f"{base}/personal-data", params={"reason": "after erasure"}, headers=auth)
    assert (gone.status_code, gone.json()["code"]) == (410, "erased")

    conn = await asyncpg.connect(with_database(pg_url, f"{db_prefix}_intake"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM keyring.client_keys") == 0
        audit = await conn.fetch(
            "SELECT action, reason, actor FROM personal_data_audit ORDER BY seq"
        )
    finally:
        await conn.close()
    assert [a["action"] for a in audit] == ["read", "erase", "read"]
    assert audit[0]["reason"] == "home visit address check" and audit[0]["actor"].startswith(
        "agency:yanghua:"
    )
    after = report(stack, admin, region="22").json()
    assert {k: v for k, v in after.items() if k != "as_of"} == {
        k: v for k, v in before.items() if k != "as_of"
    }


async def test_payloads_cannot_claim_other_agencies_or_pairings(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up("intake")
    pairing = pairing_of("lanxing")
    # SPEC 3.6: the department pairs agencies; an agency cannot (not even a side of it).
    registry = [agency("lanxing", "220102", role="assisting"), agency("wenhua", "222405"), pairing]
    assert [
        r["status"] for r in post_events(stack, registry, token("province", region="22")).json()
    ] == ["accepted"] * 3
    takeover = {**pairing, "event_id": "takeover", "agency_id": "wenhua"}
    answer = post_events(stack, takeover, token("agency", "wenhua")).json()
    assert (answer["status"], answer["errors"][0]["path"]) == ("rejected", "payload.pairing_id")
    dispatch = envelope(
        "staff-dispatched",
        {
            "dispatch_id": "d1",
            "pairing_id": "p1",
            "worker_id": "w1",
            "from_date": "2019-06-01",
            "to_date": "2019-06-30",
        },
        agency_id="evil",
    )
    answer = post_events(stack, dispatch, token("agency", "evil")).json()
    assert (answer["status"], answer["errors"][0]["code"]) == ("rejected", "forbidden_reference")
    forged = post_events(stack, visit("c-1", agency_id="scheduling"), token("agency", "scheduling"))
    assert (forged.status_code, forged.json()["code"]) == (403, "forbidden")

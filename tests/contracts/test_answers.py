"""What the services really answer is what their OpenAPI documents declare: every JSON
endpoint is called on the whole stack with the reference programme loaded, and each
answer is read into its declared response model. Nothing may be missing (validation fails)
and nothing may be undeclared (a key the model does not name): a field added to an answer
without its model fails here, so the documents cannot drift from the code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from deploy.cli import publish
from deploy.demo import PAIRING, reference_programme
from deploy.stack import Stack
from services.intake.schemas import Erased, EventRecord, PersonalData
from services.reporting.schemas import PairingReport, Summary
from services.scheduling.schemas import CarePlan, DispatchPace, Visits, WorkerSchedule
from shared.answers import ErrorAnswer, EventResult, Health, Readiness
from shared.clock import CHINA
from shared.events import canonical_model
from tests.support.polling import eventually


def undeclared(value: Any, path: str = "") -> list[str]:
    """Paths of every key in a validated answer that its model does not declare."""
    if isinstance(value, BaseModel):
        out = [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            out += undeclared(getattr(value, name), f"{path}.{name}")
        return out
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in undeclared(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in undeclared(item, f"{path}.{k}")]
    return []


def conforms(model: Any, response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    answer = TypeAdapter(model).validate_python(response.json())
    assert not undeclared(answer), f"{model}: undeclared {undeclared(answer)}"
    return answer


async def test_every_answer_is_what_the_document_declares(
    stack: Stack, token: Callable[..., str]
) -> None:
    stack.up()
    urls = {name: service.url for name, service in stack.services.items()}
    events = reference_programme()
    counts = publish(urls["intake"], events, lambda _: token("admin"))
    assert counts == {"accepted": len(events)}
    admin = {"Authorization": f"Bearer {token('admin')}"}
    jilin = {"Authorization": f"Bearer {token('province', region='22')}"}
    yanghua = {"Authorization": f"Bearer {token('agency', 'yanghua')}"}

    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls.values():
            conforms(Health, await http.get(f"{url}/healthz"))
            conforms(Readiness, await http.get(f"{url}/readyz"))

        # intake: an accepted, a duplicate and a rejected event in one request
        visit = next(e for e in events if e["type"] == "visit-logged")
        payload = {**visit["payload"], "visit_id": "contract-visit-1"}
        fresh = {**visit, "event_id": "contract-answer-1", "payload": payload}
        naive = {**fresh, "event_id": "contract-answer-2", "occurred_at": "2020-01-01T00:00"}
        submitted = await http.post(
            f"{urls['intake']}/v1/events", json=[fresh, visit, naive], headers=admin
        )
        results = conforms(list[EventResult], submitted)
        assert [r.status for r in results] == ["accepted", "duplicate", "rejected"]
        first = events[0]
        record = await http.get(
            f"{urls['intake']}/v1/events/{first['event_id']}",
            params={"agency": first["agency_id"]},
            headers=admin,
        )
        conforms(EventRecord, record)
        conforms(ErrorAnswer, await http.get(f"{urls['intake']}/v1/events/x"), 401)
        clients = f"{urls['intake']}/v1/clients"
        conforms(
            PersonalData,
            await http.get(
                f"{clients}/wh-e001/personal-data", params={"reason": "a check"}, headers=yanghua
            ),
        )
        erased = await http.post(
            f"{clients}/wh-cc7/erasure", json={"reason": "asked to"}, headers=yanghua
        )
        conforms(Erased, erased)

        # reporting
        reports = f"{urls['reporting']}/v1/reports"

        async def caught_up() -> bool:
            summary = (await http.get(f"{reports}/summary", headers=jilin)).json()
            return bool(summary.get("clients_served"))

        await eventually(caught_up, timeout_s=60, what="reporting has the programme")
        for params in (
            {"region": "22"},
            {"region": "22", "breakdown": "region", "suppress": "true"},
            {"pairing": PAIRING, "from": "2019-05-01", "to": "2020-12-31", "breakdown": "quarter"},
        ):
            summary = conforms(
                Summary, await http.get(f"{reports}/summary", params=params, headers=jilin)
            )
            assert summary.agencies.assisting == 1
        conforms(PairingReport, await http.get(f"{reports}/pairings/{PAIRING}", headers=jilin))
        conforms(ErrorAnswer, await http.get(f"{reports}/pairings/none", headers=jilin), 404)
        published = await http.post(
            f"{reports}/publish", params={"region": "22", "period": "2019"}, headers=jilin
        )
        conforms(canonical_model("report-published"), published, 201)

        # scheduling
        v1 = f"{urls['scheduling']}/v1"
        tomorrow = (datetime.now(CHINA) + timedelta(days=1)).date()
        plan = {
            "plan_id": "contract-plan-1",
            "agency_id": "yanghua",
            "client_id": "wh-e001",
            "service": "home-medication",
            "recurrence": {"kind": "weekly", "start": tomorrow.isoformat(), "count": 4},
            "window": {"start": "09:00", "end": "11:00"},
        }

        async def created() -> httpx.Response | None:
            response = await http.post(f"{v1}/care-plans", json=plan, headers=yanghua)
            return response if response.status_code == 201 else None

        care_plan = conforms(CarePlan, await eventually(created, timeout_s=60), 201)
        assert len(care_plan.slots) == 4
        conforms(CarePlan, await http.post(f"{v1}/care-plans", json=plan, headers=yanghua))
        conforms(Visits, await http.get(f"{v1}/visits", headers=yanghua))
        worker = care_plan.slots[0].worker_id or "yh-w1"
        schedule = await http.get(
            f"{v1}/workers/{worker}/schedule",
            params={"agency": "yanghua", "from": tomorrow.isoformat()},
            headers=yanghua,
        )
        conforms(WorkerSchedule, schedule)
        conforms(DispatchPace, await http.get(f"{v1}/pairings/{PAIRING}/dispatch", headers=jilin))
        conforms(
            ErrorAnswer, await http.get(f"{v1}/visits", params={"limit": 0}, headers=admin), 422
        )

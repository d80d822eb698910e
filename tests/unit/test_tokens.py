"""Bearer tokens: what the services accept and what they refuse."""

from __future__ import annotations

import pytest

from deploy.cli import main as qianshou
from shared.tokens import Principal, TokenError, issue, verify

S1, OTHER, OLD, NEW = ("s1" * 16, "other" * 8, "old" * 11, "new" * 11)


def test_roles_round_trip() -> None:
    for principal in (
        Principal("agency", agency_id="lanxing"),
        Principal("province", region="22"),
        Principal("admin"),
    ):
        assert verify(issue(S1, principal), (S1,)) == principal


def test_wrong_secret_and_expiry_are_refused() -> None:
    token = issue(S1, Principal("admin"))
    with pytest.raises(TokenError, match="signature"):
        verify(token, (OTHER,))
    with pytest.raises(TokenError, match="expired"):
        verify(issue(S1, Principal("admin"), ttl_s=-10), (S1,))
    with pytest.raises(TokenError):
        verify("not-a-token", (S1,))


def test_rotation_accepts_both_keys_until_the_old_one_is_dropped() -> None:
    old = issue(OLD, Principal("agency", agency_id="lanxing"))
    new = issue(NEW, Principal("agency", agency_id="lanxing"))
    assert verify(old, (NEW, OLD)).agency_id == "lanxing"
    assert verify(new, (NEW, OLD)).agency_id == "lanxing"
    with pytest.raises(TokenError):
        verify(old, (NEW,))


def test_scope_rules() -> None:
    agency, province = (
        Principal("agency", agency_id="lanxing"),
        Principal("province", region="2224"),
    )
    assert agency.may_act_for("lanxing", None) and not agency.may_act_for("yanghua", "222405")
    assert province.may_act_for("yanghua", "222405") and not province.may_act_for(
        "lanxing", "220102"
    )
    assert not province.may_act_for("unknown", None)
    assert Principal("admin").may_act_for("anyone", None)
    with pytest.raises(ValueError):
        issue(S1, Principal("agency"))


def test_cli_prints_a_token_the_services_accept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QIANSHOU_TOKEN_SECRETS", "cli-secret-0123456789abcdef-0123,older")
    assert qianshou(["token", "issue", "--role", "province", "--region", "22"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify(token, ("cli-secret-0123456789abcdef-0123",)) == Principal(
        "province", region="22"
    )
    assert qianshou(["token", "issue", "--role", "agency"]) == 2  # an agency token needs --agency


def test_province_tokens_take_a_region_prefix_not_a_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for good in ("22", "2224", "222405", "222405001002"):
        assert verify(issue(S1, Principal("province", region=good)), (S1,)).region == good
    with pytest.raises(ValueError, match="use '22'"):
        issue(S1, Principal("province", region="220000"))
    with pytest.raises(ValueError, match="use '2224'"):
        issue(S1, Principal("province", region="222400"))
    for bad in ("2", "220", "22a", "2224050"):
        with pytest.raises(ValueError, match="2, 4, 6 or 12 digits"):
            issue(S1, Principal("province", region=bad))
    monkeypatch.setenv("QIANSHOU_TOKEN_SECRETS", "cli-secret-0123456789abcdef-0123")
    assert qianshou(["token", "issue", "--role", "province", "--region", "220000"]) == 2
    assert "use '22'" in capsys.readouterr().err
    assert qianshou(["token", "issue", "--role", "province", "--region", "2"]) == 2

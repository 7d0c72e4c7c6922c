"""The line-kind table: every stored type has exactly one kind, in a stable order."""

from __future__ import annotations

import pytest

from esimdesk.core.errors import ValidationFailed
from esimdesk.orders.kinds import registry
from esimdesk.orders.kinds.new_esim import KIND as NEW_ESIM


def test_every_line_type_is_registered_in_the_order_of_the_choices_before() -> None:
    assert registry.types() == ["new_esim", "renewal", "top_up", "plan_change", "group_plan",
                                "group_renew", "group_topup", "group_seats"]
    assert [kind.type for kind in registry.kinds()] == registry.types()


def test_an_unknown_type_is_a_clear_error_in_code_and_a_422_from_a_request() -> None:
    with pytest.raises(registry.UnknownLineKind, match=r"'gift_card'.*known: new_esim"):
        registry.kind_for("gift_card")
    with pytest.raises(ValidationFailed) as refused:
        registry.requested_kind("gift_card")
    assert refused.value.code == "invalid_line_type"
    assert refused.value.detail == {"allowed": registry.types()}


def test_a_type_cannot_be_registered_twice_by_different_kinds() -> None:
    registry.register(NEW_ESIM)  # the same kind again (ready ran twice): no harm
    with pytest.raises(ValueError, match="already registered"):
        registry.register(type(NEW_ESIM)())

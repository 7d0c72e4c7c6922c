from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from esimdesk.accounts.models import User

TEMPLATES_DIR = Path(__file__).parent / "templates"
ENDS_AT = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai


@pytest.fixture(autouse=True)
def notify_templates(settings: Any) -> None:
    """Test-only message templates (``test_notice``, ``test_bare``) beside the real ones."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEMPLATES_DIR]
    settings.TEMPLATES = templates


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(email: str | None = "alex@example.com", phone: str | None = "+8613800138000",
             **extra: Any) -> User:
        return User.objects.create_user(email, "x-long-password-1", phone=phone, **extra)
    return make


def context() -> dict[str, Any]:
    return {"esim_name": "Japan eSIM", "ends_at": ENDS_AT}

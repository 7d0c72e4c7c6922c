from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from esimdesk.provisioning import registry


@pytest.fixture
def refusing(settings: Any) -> Iterator[str]:
    """The supplier ``refusing`` (``tests.builders.RefusingSupplier``), configured before
    the simulator: activations of plans it has a bundle for fail over, or fail."""
    registry.register("refusing", "tests.builders.RefusingSupplier")
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["refusing", "simulator"]}
    yield "refusing"
    registry.PROVIDERS.pop("refusing", None)
    registry.provider_class.cache_clear()

from __future__ import annotations

import os
import socket

from esimdesk.core import clock
from esimdesk.core.models import Heartbeat


def beat(process: str) -> None:
    Heartbeat.objects.update_or_create(
        process=process,
        defaults={"seen_at": clock.now(), "info": {"host": socket.gethostname(),
                                                   "pid": os.getpid()}})

"""The trigger an AssetWatcher runs in Airflow's triggerer: it polls the CDOP database
for a raised signal (cdop.panel.check_signal), takes it and fires, so the watched asset
starts its DAG. Nothing but the signal's name is serialized into Airflow's trigger table:
the database is reached through the same settings every task uses (cdop_airflow.runtime:
the environment, or the `cdop_db` Connection), never through a URL stored in Airflow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)


def _settings():
    from cdop_airflow.runtime import settings

    return settings("triggerer")


def _take(settings, name: str) -> bool:
    from cdop.panel.check_signal import take_signal
    from cdop.store.db import unit_of_work

    with unit_of_work(settings) as uow:
        taken = take_signal(uow.session, name)
        uow.commit()
    return taken


class CdopSignalTrigger(BaseEventTrigger):
    """Fires once a `signal` row is raised in the CDOP database, taking it."""

    def __init__(self, signal: str, poke_interval: float = 5.0):
        super().__init__()
        self.signal = signal
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"signal": self.signal, "poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        settings = None  # read once a run (policy, Connections), then only the table is polled
        while True:
            try:
                settings = settings or await asyncio.to_thread(_settings)
                taken = await asyncio.to_thread(_take, settings, self.signal)
            except Exception as exc:  # database away: try again, naming the error's type only
                log.warning("signal %s: the CDOP database could not be read (%s)",
                            self.signal, type(exc).__name__)
                taken = False
            if taken:
                yield TriggerEvent({"signal": self.signal})
                return
            await asyncio.sleep(self.poke_interval)

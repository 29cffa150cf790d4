"""Due evaluations inside ``tierwise serve``: a background thread that runs what the calendar says is due.

Every ``every`` seconds the thread asks :func:`tierwise.app.run.due_dates` which evaluations are
due (up to today and the latest imported data) and runs them in date order with
:func:`~tierwise.app.run.run_evaluation`, which takes the workspace's write lock: when another
command holds it (an import, a run from the command line) the tick is skipped quietly and
retried at the next one. Once a day it also generates the day's service tasks, when the
servicing module offers ``generate_tasks`` and the policy enables servicing (a run already
generates them, so this covers the days without a run).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable
from datetime import date

from tierwise.app.workspace import Workspace
from tierwise.errors import ConcurrencyError, TierwiseError

log = logging.getLogger("tierwise.scheduler")


def _generator():
    if importlib.util.find_spec("tierwise.app.servicing_generate") is None:
        return None
    return getattr(importlib.import_module("tierwise.app.servicing_generate"), "generate_tasks", None)


class DueRunner:
    """Run due evaluations (and the daily task generation) every ``every`` seconds in a daemon thread.

    ``today`` gives the date to evaluate up to (tests pass a fixed one). ``history`` keeps what
    each tick did: ``{"ran": [dates], "tasks": date or None, "skipped": reason or None}``.
    """

    def __init__(self, ws: Workspace, every: float, *, today: Callable[[], date] = date.today,
                 actor: str = "serve"):
        if every <= 0:
            raise ValueError("every must be positive")
        self.ws, self.every, self.today, self.actor = ws, float(every), today, actor
        self.history: list[dict] = []
        self.tasks_done_on: date | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- one tick
    def tick(self) -> dict:
        from tierwise.app.run import due_dates, run_evaluation
        from tierwise.app.status import latest_data_date

        out: dict = {"ran": [], "tasks": None, "skipped": None}
        ws = self.ws
        today = self.today()
        try:
            for d in due_dates(ws, today, latest_data_date(ws)):
                if self._stop.is_set():
                    break
                rec = run_evaluation(ws, d, actor=self.actor)
                out["ran"].append(d)
                log.info("due evaluation %s published as %s", d, rec["run_id"])
            gen = _generator()
            if gen is not None and self.tasks_done_on != today and ws.policy().servicing.enabled:
                gen(ws, actor=self.actor)
                self.tasks_done_on = today
                out["tasks"] = today
        except ConcurrencyError as exc:      # another writer: try again next time
            out["skipped"] = "busy"
            log.info("due evaluations skipped: %s", exc.message)
        except TierwiseError as exc:
            out["skipped"] = exc.message
            log.warning("due evaluations failed: %s", exc.message)
        except Exception:                    # never kill the server's thread
            out["skipped"] = "error"
            log.exception("due evaluations failed")
        self.history.append(out)
        return out

    # ---------------------------------------------------------------- the thread
    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.every)

    def start(self) -> DueRunner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tierwise-due-runner", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

"""Training runs: one row per retrain attempt, with its data counts, metrics and outcome."""

from __future__ import annotations

from sqlmodel import Session, col, select

from feedback.models import JSONObject, TrainingRun
from feedback.store.base import StoreBase

TERMINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "rejected", "cancelled"})


class TrainingRunRepo(StoreBase):
    def add_training_run(
        self,
        method: str = "dpo",
        config: JSONObject | None = None,
        counts: JSONObject | None = None,
        status: str = "running",
    ) -> TrainingRun:
        run = TrainingRun(
            method=method,
            status=status,
            config=dict(config or {}),
            counts=dict(counts or {}),
            started_at=self._now(),
        )
        return self._add(run)

    def update_training_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        counts: JSONObject | None = None,
        metrics: JSONObject | None = None,
        error: str | None = None,
        adapter_version: str | None = None,
    ) -> TrainingRun:
        """Update a run (None = unchanged); a terminal status stamps ``finished_at``."""

        def do(s: Session) -> TrainingRun:
            run = self._get(s, TrainingRun, run_id)
            if status is not None:
                run.status = status
                if status in TERMINAL_RUN_STATUSES and run.finished_at is None:
                    run.finished_at = self._now()
            if counts is not None:
                run.counts = dict(counts)
            if metrics is not None:
                run.metrics = dict(metrics)
            if error is not None:
                run.error = error
            if adapter_version is not None:
                run.adapter_version = adapter_version
            s.add(run)
            return run

        return self._write(do)

    def get_training_run(self, run_id: int) -> TrainingRun | None:
        return self._find(TrainingRun, run_id)

    def list_training_runs(self, limit: int = 50) -> list[TrainingRun]:
        """Newest first."""
        stmt = select(TrainingRun).order_by(col(TrainingRun.id).desc()).limit(limit)
        return self._all(stmt)

    def last_training_run(self, status: str | None = None) -> TrainingRun | None:
        stmt = select(TrainingRun).order_by(col(TrainingRun.id).desc()).limit(1)
        if status is not None:
            stmt = stmt.where(col(TrainingRun.status) == status)
        return self._first(stmt)

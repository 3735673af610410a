"""The adapter registry: trained LoRA versions, and the one active adapter."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from feedback.models import AdapterVersion, JSONObject
from feedback.store.base import NotFound, StoreBase


def _by_version(version: str) -> SelectOfScalar[AdapterVersion]:
    return select(AdapterVersion).where(col(AdapterVersion.version) == version)


class AdapterRepo(StoreBase):
    def add_adapter_version(
        self,
        version: str,
        path: str | Path,
        *,
        kind: str = "dpo",
        parent_version: str | None = None,
        metrics: JSONObject | None = None,
        merged_path: str | Path | None = None,
        training_run_id: int | None = None,
    ) -> AdapterVersion:
        """Register a trained adapter (inactive; promote it with `set_active_adapter`)."""
        adapter = AdapterVersion(
            version=version,
            kind=kind,
            path=str(path),
            parent_version=parent_version,
            metrics=dict(metrics or {}),
            merged_path=None if merged_path is None else str(merged_path),
            training_run_id=training_run_id,
            active=False,
            created_at=self._now(),
        )
        return self._add(adapter)

    def update_adapter_version(
        self,
        version: str,
        *,
        merged_path: str | Path | None = None,
        metrics: JSONObject | None = None,
    ) -> AdapterVersion:
        def do(s: Session) -> AdapterVersion:
            adapter = self._adapter(s, version)
            if merged_path is not None:
                adapter.merged_path = str(merged_path)
            if metrics is not None:
                adapter.metrics = dict(metrics)
            s.add(adapter)
            return adapter

        return self._write(do)

    @staticmethod
    def _adapter(s: Session, version: str) -> AdapterVersion:
        adapter = s.exec(_by_version(version)).first()
        if adapter is None:
            raise NotFound(f"adapter version {version} not found")
        return adapter

    def get_adapter_version(self, version: str) -> AdapterVersion | None:
        return self._first(_by_version(version))

    def list_adapter_versions(self) -> list[AdapterVersion]:
        """Oldest first."""
        return self._all(select(AdapterVersion).order_by(col(AdapterVersion.id)))

    def active_adapter(self) -> AdapterVersion | None:
        stmt = select(AdapterVersion).where(col(AdapterVersion.active).is_(True))
        return self._first(stmt)

    def set_active_adapter(self, version: str | None) -> AdapterVersion | None:
        """Make `version` the one active adapter (None: the base model, none active).

        One transaction: readers see the old or the new active adapter, never zero or two
        (a partial unique index enforces at most one).
        """

        def do(s: Session) -> AdapterVersion | None:
            target = None if version is None else self._adapter(s, version)
            s.exec(
                update(AdapterVersion)
                .where(col(AdapterVersion.active).is_(True))
                .values(active=False)
            )
            if target is None:
                return None
            s.exec(
                update(AdapterVersion)
                .where(col(AdapterVersion.id) == target.id)
                .values(active=True)
            )
            s.refresh(target)
            return target

        return self._write(do)

    def next_adapter_version(self) -> str:
        """``v<N+1>`` where N is the number of adapters registered so far."""
        with self._session() as s:
            n = s.execute(sa_select(func.count()).select_from(AdapterVersion)).scalar_one()
        return f"v{int(n) + 1}"

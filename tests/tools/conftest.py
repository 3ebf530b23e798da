"""Fixtures for the tool-layer tests: ledgers on every backend, a throwaway PostgreSQL server."""

from __future__ import annotations

import uuid

import pytest

from activities.ledger import LedgerBackend, open_ledger
from tests.tools.postgres_cluster import PostgresCluster, find_pg_bin


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on a free loopback port, for the whole session."""
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql) ")
    cluster = PostgresCluster().start()
    yield cluster.url
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_target(request, tmp_path) -> str:
    """Where a ledger lives: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    url = request.getfixturevalue("postgres_url")
    import psycopg

    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def ledger(ledger_target) -> LedgerBackend:
    return open_ledger(ledger_target)

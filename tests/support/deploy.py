"""Helpers for the deployment tests (issue 6): docker-compose.yaml and .env.example as data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"


@lru_cache(maxsize=1)
def compose() -> dict:
    """docker-compose.yaml, with its YAML anchors and merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def airflow_services() -> dict[str, dict]:
    return {name: s for name, s in compose()["services"].items() if name.startswith("airflow-")
            and name not in ("airflow-db",)}


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose_airflow_environment() -> dict[str, str]:
    """The Airflow settings every compose container shares (the worker's view)."""
    return dict(airflow_services()["airflow-worker"]["environment"])

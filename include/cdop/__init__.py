"""The CDOP case-review application: domain, services and adapters (no Airflow import)."""

"""Glue between Airflow and the CDOP application: runtime settings from Connections."""

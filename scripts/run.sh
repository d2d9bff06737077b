#!/usr/bin/env bash
# `make run`: the whole system on embedded defaults -- SQLite files and a local SMTP
# server on loopback under var/ -- with demo data, and Airflow (api-server with the UI,
# scheduler, dag-processor, triggerer) with the CDOP DAGs unpaused. Ctrl-C stops it all.
set -euo pipefail
# Everything made under CDOP_HOME (the SQLite files, the mail kept by the local server,
# logs) is the CDOP user's only: owner-only folders and files.
umask 077
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH"  # airflow standalone starts its components as `airflow ...`

export CDOP_HOME="${CDOP_HOME:-$ROOT/var}"
export CDOP_DEMO="${CDOP_DEMO:-1}"
export CDOP_SMTP_HOST="${CDOP_SMTP_HOST:-127.0.0.1}"
export CDOP_SMTP_PORT="${CDOP_SMTP_PORT:-8025}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$CDOP_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
mkdir -p "$AIRFLOW_HOME" "$CDOP_HOME/mail"

# One random password for the demo admin, made once and kept beside the metadata DB.
if [ ! -f "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" ]; then
  "$BIN/python" - <<'PY'
import json, os, secrets
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
    json.dump({"admin": secrets.token_urlsafe(12)}, fh)
PY
fi

echo "==> migrating Airflow's metadata DB and the CDOP database"
"$BIN/airflow" db migrate > "$CDOP_HOME/airflow-migrate.log" 2>&1 \
  || { cat "$CDOP_HOME/airflow-migrate.log"; exit 1; }
"$BIN/cdop" db upgrade
echo "==> loading demo data (fictional agencies and cases)"
"$BIN/cdop" demo load

echo "==> starting the local SMTP server on 127.0.0.1:$CDOP_SMTP_PORT (messages kept in $CDOP_HOME/mail)"
"$BIN/cdop" smtp-sink --port "$CDOP_SMTP_PORT" --dir "$CDOP_HOME/mail" > "$CDOP_HOME/smtp-sink.log" 2>&1 &
SINK_PID=$!
# The agencies' return portal: the links in the demo's request emails point here
# (policy [portal] base_url, by default http://127.0.0.1:8095).
echo "==> starting the agencies' return portal on 127.0.0.1:8095"
"$BIN/cdop" portal serve --port 8095 > "$CDOP_HOME/portal.log" 2>&1 &
PORTAL_PID=$!
trap 'kill $SINK_PID $PORTAL_PID 2>/dev/null || true' EXIT

PASSWORD=$("$BIN/python" -c 'import json,os; print(json.load(open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]))["admin"])')
cat <<MSG

  Airflow UI:   http://localhost:$AIRFLOW__API__PORT   (sign in as admin / $PASSWORD)
  CDOP pages:   the "CDOP" entry in the UI's navigation
  Mail sent:    $CDOP_HOME/mail/*.eml
  Portal:       http://127.0.0.1:8095 (open the link in a request email; the code arrives in the next)
  Coordinator:  CDOP_HOME=$CDOP_HOME CDOP_DEMO=1 .venv/bin/cdop case list
  Logs:         $AIRFLOW_HOME/logs        Stop: Ctrl-C

MSG
"$BIN/airflow" standalone

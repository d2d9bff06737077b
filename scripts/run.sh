#!/usr/bin/env bash
# `make run`: the whole system on embedded defaults -- SQLite files and a local SMTP
# server on loopback under var/ -- with demo data, and Airflow's four services (api-server
# with the UI and the execution API, dag-processor, scheduler, triggerer) with the CDOP
# DAGs unpaused.
#
# Each service starts only once the one before it answers: the api-server serves the
# execution API that every task talks to, so nothing is scheduled before it listens.
# The services' output goes to files under var/log/; the terminal gets one line per step
# and one banner. Ctrl-C (or SIGTERM) stops every process started here, in its own
# process group, within a few seconds, and frees every port.
set -euo pipefail
umask 077  # var/ holds case data: owner-only, like everything the CDOP writes
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="${CDOP_VENV:-$ROOT/.venv}"
BIN="$VENV/bin"
export PATH="$BIN:$PATH"

export CDOP_HOME="${CDOP_HOME:-$ROOT/var}"
export CDOP_DEMO="${CDOP_DEMO:-1}"
export CDOP_SMTP_HOST="${CDOP_SMTP_HOST:-127.0.0.1}"
export CDOP_SMTP_PORT="${CDOP_SMTP_PORT:-8025}"
PORTAL_PORT="${CDOP_PORTAL_PORT:-8095}"
API_PORT="${AIRFLOW__API__PORT:-8080}"
START_TIMEOUT="${CDOP_START_TIMEOUT:-900}"  # seconds, per step; a loaded laptop is slow
LOG="$CDOP_HOME/log"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$CDOP_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
export AIRFLOW__API__PORT="$API_PORT"
# Tasks reach the execution API here; without it they assume port 8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-8793}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT:-8794}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
# One SQLite file for every service: a connection waits for another's write instead of
# failing after 5 s with "database is locked" (cdop_airflow/metadata_db.py says why).
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-cdop_airflow.metadata_db.CONNECT_ARGS}"
mkdir -p "$AIRFLOW_HOME" "$CDOP_HOME/mail" "$LOG"

# The links in the demo's request emails must reach this portal: another port needs the
# policy's [portal] base_url to follow it.
if [ "$PORTAL_PORT" != 8095 ] && [ -z "${CDOP_POLICY_FILE:-}" ]; then
  export CDOP_POLICY_FILE="$CDOP_HOME/policy.toml"
  printf '[portal]\nbase_url = "http://127.0.0.1:%s"\n' "$PORTAL_PORT" > "$CDOP_POLICY_FILE"
fi

# ---------------------------------------------------------------- starting and stopping
PGIDS=()     # one process group per service: stopping a group reaches its workers too
NAMES=()
STOPPING=0

start() {  # start NAME COMMAND...: in its own session, output to var/log/NAME.log
  local name=$1; shift
  setsid "$@" > "$LOG/$name.log" 2>&1 < /dev/null &
  PGIDS+=("$!")
  NAMES+=("$name")
}

descendants() {  # every process below $1, depth first
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

alive() {  # any of these process groups or processes left?
  local pgid pid
  for pgid in "${PGIDS[@]}"; do
    if kill -0 -- "-$pgid" 2>/dev/null; then return 0; fi
  done
  for pid in "$@"; do
    if [ -d "/proc/$pid" ] && ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null; then return 0; fi
  done
  return 1
}

stop_all() {
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  trap '' INT TERM
  if [ -n "$WAITER" ]; then kill "$WAITER" 2>/dev/null || true; fi
  [ "${#PGIDS[@]}" = 0 ] && return
  echo "==> stopping (${NAMES[*]})"
  # Listed before anything stops: a process that made a session of its own (a task's
  # supervisor) is out of its service's group, and once its parent has gone it is no
  # longer below this script.
  local pids pid pgid i
  pids=$(descendants $$)
  for pgid in "${PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 50); do  # a 5 s grace period, then SIGKILL whatever is left
    alive $pids || break
    sleep 0.1
  done
  for i in "${!PGIDS[@]}"; do
    if kill -KILL -- "-${PGIDS[$i]}" 2>/dev/null; then
      echo "    ${NAMES[$i]} did not stop in 5 s: killed"
    fi
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # A killed process outside this script's children (a task's supervisor) takes a
  # moment to tear down: return only once it is gone, not while it still holds a port.
  for i in $(seq 1 50); do
    alive $pids || break
    sleep 0.1
  done
  echo "==> stopped"
}

on_signal() { stop_all; exit 130; }
trap on_signal INT TERM
trap stop_all EXIT

fail() {  # fail STEP LOGFILE: say what did not start and where to look, then stop
  echo "!! $1 -- see $2" >&2
  exit 1
}

WAITER=""
wait_for() {  # wait_for NAME CHECK...: until the check passes or a started service dies
  local name=$1; shift
  # In the background, so that a signal reaches the trap at once, not when the wait ends.
  "$BIN/python" "$ROOT/scripts/wait_for.py" --timeout "$START_TIMEOUT" \
    --watch "$(IFS=,; echo "${PGIDS[*]}")" "$@" &
  WAITER=$!
  wait "$WAITER" || fail "$name did not start" "$LOG/"
  WAITER=""
}

# ---------------------------------------------------------------------------- the steps
# One random password for the demo admin, made once and kept beside the metadata DB.
if [ ! -f "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" ]; then
  "$BIN/python" - <<'PY'
import json, os, secrets
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
    json.dump({"admin": secrets.token_urlsafe(12)}, fh)
PY
fi
PASSWORD=$("$BIN/python" -c 'import json,os; print(json.load(open(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]))["admin"])')

echo "==> preparing the databases and the demo data (logs in $LOG/)"
"$BIN/airflow" db migrate > "$LOG/airflow-migrate.log" 2>&1 \
  || fail "Airflow's metadata DB did not migrate" "$LOG/airflow-migrate.log"
{ "$BIN/cdop" db upgrade && "$BIN/cdop" demo load; } > "$LOG/cdop-setup.log" 2>&1 \
  || fail "the CDOP database or its demo data did not load" "$LOG/cdop-setup.log"

echo "==> starting the mail catcher and the agencies' portal"
start smtp-sink "$BIN/cdop" smtp-sink --port "$CDOP_SMTP_PORT" --dir "$CDOP_HOME/mail"
start portal "$BIN/cdop" portal serve --port "$PORTAL_PORT"
wait_for "the mail catcher" --port "$CDOP_SMTP_PORT"
wait_for "the portal" --port "$PORTAL_PORT"

echo "==> starting Airflow's api-server (UI and execution API); the first start takes a while"
start api-server "$BIN/airflow" api-server --port "$API_PORT"
wait_for "the api-server" --http "http://127.0.0.1:$API_PORT/api/v2/version"

echo "==> starting the dag-processor, scheduler and triggerer"
start dag-processor "$BIN/airflow" dag-processor
start scheduler "$BIN/airflow" scheduler
start triggerer "$BIN/airflow" triggerer

echo "==> waiting for the first DAG run to succeed"
wait_for "the first DAG run" --first-green-run "http://127.0.0.1:$API_PORT" admin "$PASSWORD"

cat <<MSG

  CDOP demo is ready.

  Airflow UI:   http://localhost:$API_PORT   sign in as admin / $PASSWORD
                the CDOP pages are under "CDOP" in the UI's navigation
  Portal:       http://127.0.0.1:$PORTAL_PORT   (agencies open the link in a request email)
  Mail sent:    $CDOP_HOME/mail/*.eml
  Logs:         $LOG/
  Command line: CDOP_HOME=$CDOP_HOME CDOP_DEMO=1 .venv/bin/cdop case list

  Stop: Ctrl-C

ready
MSG

# Stay in the foreground until a signal, or until a service stops by itself.
while alive; do
  for i in "${!PGIDS[@]}"; do
    if ! kill -0 -- "-${PGIDS[$i]}" 2>/dev/null; then
      fail "${NAMES[$i]} stopped by itself" "$LOG/${NAMES[$i]}.log"
    fi
  done
  sleep 1 &
  wait $! || true
done

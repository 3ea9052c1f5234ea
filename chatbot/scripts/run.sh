#!/usr/bin/env bash
# Start the action server (127.0.0.1:5055) and Rasa (REST channel on 127.0.0.1:5005) in the
# background, with pid and log files under var/chatbot/.
#
# The portal's relay needs only the REST channel (/webhooks/rest/webhook). Rasa's HTTP API (trackers,
# model, /model/parse — every conversation readable by whoever holds the token) stays off unless
# asked for, and then only with a token of your own:
#   CHATBOT_ENABLE_API=1 CHATBOT_RASA_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
#
# Environment:
#   CHATBOT_ENABLE_API   1: also serve Rasa's HTTP API (for scripts/smoke.py, scripts/threshold_sweep.py)
#   CHATBOT_RASA_TOKEN   its --auth-token; required with CHATBOT_ENABLE_API=1, at least 32 characters
#   PORTAL_API_URL       portal base URL used by the actions (default http://127.0.0.1:8000)
#   PORTAL_SERVICE_TOKEN bearer token the actions send to the portal
#   CHATBOT_TRACKER_DIALECT  sqlite (default, file var/chatbot/tracker.db) or postgresql
#   CHATBOT_TRACKER_HOST/PORT/DB/USER/PASSWORD  for postgresql
#   CHATBOT_RASA_PORT / CHATBOT_ACTIONS_PORT to move the ports
set -euo pipefail
source "$(dirname "$0")/env.sh"
require_venv
cd "$CHATBOT_DIR"
mkdir -p "$VAR_DIR"

RASA_PORT=${CHATBOT_RASA_PORT:-5005}
ACTIONS_PORT=${CHATBOT_ACTIONS_PORT:-5055}
DIALECT=${CHATBOT_TRACKER_DIALECT:-sqlite}
export CHATBOT_TRACKER_PASSWORD=${CHATBOT_TRACKER_PASSWORD:-}
ENDPOINTS="$VAR_DIR/endpoints.yml"
# Written at each start (Rasa cannot leave a ${VAR} empty, e.g. no port for SQLite).
{
  echo "# Written by chatbot/scripts/run.sh at $(date -Is); edit the environment instead."
  echo "action_endpoint:"
  echo "  url: \"http://127.0.0.1:$ACTIONS_PORT/webhook\""
  echo "  enable_selective_domain: true"
  echo "tracker_store:"
  echo "  type: SQL"
  if [ "$DIALECT" = "sqlite" ]; then
    echo "  dialect: sqlite"
    echo "  db: \"${CHATBOT_TRACKER_DB:-$VAR_DIR/tracker.db}\""
  else
    echo "  dialect: \"$DIALECT\""
    echo "  url: \"${CHATBOT_TRACKER_HOST:-127.0.0.1}\""
    echo "  port: ${CHATBOT_TRACKER_PORT:-5432}"
    echo "  db: \"${CHATBOT_TRACKER_DB:-chatbot}\""
    echo "  username: \"${CHATBOT_TRACKER_USER:-chatbot}\""
    # Rasa expands the variable when it reads the file: no secret on disk.
    echo "  password: \"\${CHATBOT_TRACKER_PASSWORD}\""
  fi
} > "$ENDPOINTS"
API_ARGS=()
if [ "${CHATBOT_ENABLE_API:-0}" = "1" ]; then
  TOKEN=${CHATBOT_RASA_TOKEN:-}
  if [ ${#TOKEN} -lt 32 ]; then
    echo "CHATBOT_ENABLE_API=1 needs CHATBOT_RASA_TOKEN of at least 32 characters (a secret of your own)" >&2
    exit 1
  fi
  API_ARGS=(--enable-api --auth-token "$TOKEN")
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

model=$(bash scripts/train.sh | tail -1)

if running "$VAR_DIR/actions.pid"; then
  echo "action server already running (pid $(cat "$VAR_DIR/actions.pid"))"
else
  # rasa-sdk has no --interface flag; it reads the bind address from SANIC_HOST.
  SANIC_HOST=127.0.0.1 nohup "$VENV/bin/python" -m rasa_sdk --actions actions --port "$ACTIONS_PORT" \
    > "$VAR_DIR/actions.log" 2>&1 &
  echo $! > "$VAR_DIR/actions.pid"
  echo "action server starting on 127.0.0.1:$ACTIONS_PORT (pid $!, log $VAR_DIR/actions.log)"
fi

if running "$VAR_DIR/rasa.pid"; then
  echo "rasa already running (pid $(cat "$VAR_DIR/rasa.pid"))"
else
  nohup "$VENV/bin/rasa" run --model "$model" --endpoints "$ENDPOINTS" --credentials credentials.yml \
    --interface 127.0.0.1 --port "$RASA_PORT" "${API_ARGS[@]}" \
    --log-file "$VAR_DIR/rasa-debug.log" > "$VAR_DIR/rasa.log" 2>&1 &
  echo $! > "$VAR_DIR/rasa.pid"
  echo "rasa starting on 127.0.0.1:$RASA_PORT (pid $!, log $VAR_DIR/rasa.log)"
fi

if [ "${CHATBOT_WAIT:-1}" = "1" ]; then
  start=$(date +%s)
  # The REST channel's health route answers once the server listens, i.e. after the model was loaded
  # (Rasa loads it in a before_server_start listener).
  until curl -sf "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 2>/dev/null | grep -q '"ok"'; do
    if ! running "$VAR_DIR/rasa.pid"; then echo "rasa exited; see $VAR_DIR/rasa.log" >&2; tail -20 "$VAR_DIR/rasa.log" >&2; exit 1; fi
    if [ $(( $(date +%s) - start )) -gt 180 ]; then echo "rasa not ready after 180 s" >&2; exit 1; fi
    sleep 1
  done
  echo "rasa ready after $(( $(date +%s) - start )) s: POST http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook"
fi

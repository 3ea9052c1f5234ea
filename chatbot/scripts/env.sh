# Sourced by the chatbot scripts: common paths and environment.
CHATBOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$CHATBOT_DIR/.." && pwd)
VENV="$CHATBOT_DIR/.venv"
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="$CHATBOT_DIR${PYTHONPATH:+:$PYTHONPATH}"
# SQLAlchemy 1.4 deprecation chatter from Rasa's own code.
export SQLALCHEMY_SILENCE_UBER_WARNING=1
MODEL_CACHE=${CHATBOT_MODEL_CACHE:-$CHATBOT_DIR/models}
VAR_DIR=${CHATBOT_VAR_DIR:-$REPO_DIR/var/chatbot}
require_venv() {
  if [ ! -x "$VENV/bin/rasa" ]; then
    echo "chatbot venv missing: run 'make chatbot-venv' (or chatbot/scripts/venv.sh)" >&2
    exit 1
  fi
}

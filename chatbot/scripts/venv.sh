#!/usr/bin/env bash
# Build chatbot/.venv (Python 3.10) from chatbot/requirements.txt.
# Rebuilt only when requirements.txt changes (stamp file inside the venv).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/rasa" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "chatbot venv up to date ($venv)"; exit 0
fi
py=$("$here/scripts/find_python.sh")
echo "chatbot venv: using $py"
start=$(date +%s)
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
RASA_TELEMETRY_ENABLED=false "$venv/bin/python" -m pip install --quiet -r "$req" 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
echo "$want" > "$stamp"
echo "chatbot venv built in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1))"

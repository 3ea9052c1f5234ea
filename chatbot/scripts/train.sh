#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed.
# The model is stored as $CHATBOT_MODEL_CACHE/<sha256 of inputs>.tar.gz
# (default chatbot/models/); the last line printed is the model's path.
set -euo pipefail
source "$(dirname "$0")/env.sh"
require_venv
cd "$CHATBOT_DIR"

inputs_hash() {
  # Path + content of every input, in a stable order.
  { ls config.yml domain.yml requirements.txt
    find data components -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.py' -o -name '*.txt' \) \
      -not -path '*/__pycache__/*'
  } | LC_ALL=C sort | while read -r f; do printf '%s %s\n' "$f" "$(sha256sum < "$f" | cut -d' ' -f1)"; done \
    | sha256sum | cut -c1-20
}

hash=$(inputs_hash)
model="$MODEL_CACHE/$hash.tar.gz"
mkdir -p "$MODEL_CACHE"
if [ -f "$model" ]; then
  echo "model up to date (inputs $hash), reusing" >&2
else
  "$VENV/bin/python" scripts/gen_procedure_nlu.py --check
  tmp=$(mktemp -d "$MODEL_CACHE/.train.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  start=$(date +%s)
  log="$MODEL_CACHE/$hash.train.log"
  echo "training model $hash (log: $log)" >&2
  if ! "$VENV/bin/rasa" train --config config.yml --domain domain.yml --data data \
      --out "$tmp" --fixed-model-name "$hash" > "$log" 2>&1; then
    tail -40 "$log" >&2
    exit 1
  fi
  mv "$tmp/$hash.tar.gz" "$model"
  echo "trained $model in $(( $(date +%s) - start )) s" >&2
fi
echo "$model"

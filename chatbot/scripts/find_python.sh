#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 needs >=3.8,<3.11).
# Order: pyenv's 3.10.13 (PYENV_VERSION), python3.10 on PATH, then uv-managed 3.10.
set -euo pipefail

is310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

if PYENV_VERSION=3.10.13 python3.10 -c '' 2>/dev/null; then
  p=$(PYENV_VERSION=3.10.13 python3.10 -c 'import sys; print(sys.executable)')
  if is310 "$p"; then echo "$p"; exit 0; fi
fi
if command -v python3.10 >/dev/null 2>&1; then
  p=$(python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
  if [ -n "$p" ] && is310 "$p"; then echo "$p"; exit 0; fi
fi
if command -v uv >/dev/null 2>&1; then
  uv python install 3.10 >&2
  p=$(uv python find 3.10)
  if is310 "$p"; then echo "$p"; exit 0; fi
fi
echo "find_python.sh: no Python 3.10 found (install pyenv 3.10.13 or uv)" >&2
exit 1

#!/usr/bin/env bash
# Creates (once) the project's virtualenv outside the clone and links it as ./.venv.
#
#   venv dir : $CHUNFENG_CACHE/venv-<first 12 hex of sha256(pyproject.toml)>
#   contents : [project].dependencies + [project.optional-dependencies].dev
#              (not the project itself: code runs with PYTHONPATH=<repo root>)
#   marker   : <venv>/.chunfeng-complete, written last; its presence skips everything.
#
# A changed pyproject.toml gives a new hash, hence a new venv; the old one stays in the cache.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CHUNFENG_CACHE:-$HOME/.cache/chunfeng}
python=${PYTHON:-python3}

hash=$(sha256sum "$root/pyproject.toml" | cut -c1-12)
venv="$cache/venv-$hash"
marker="$venv/.chunfeng-complete"

if [[ ! -f "$marker" ]]; then
    echo "venv: creating $venv" >&2
    mkdir -p "$cache"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    mapfile -t reqs < <("$python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
for req in project.get("dependencies", []) + project.get("optional-dependencies", {}).get("dev", []):
    print(req)
PY
)
    PIP_CACHE_DIR="$cache/pip" "$venv/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}"
    date -u +%Y-%m-%dT%H:%M:%SZ > "$marker"
    echo "venv: ready ($venv)" >&2
fi

# Point ./.venv at it (replace a stale link; refuse to clobber a real directory).
if [[ -L "$root/.venv" || ! -e "$root/.venv" ]]; then
    ln -sfn "$venv" "$root/.venv"
elif [[ "$(readlink -f "$root/.venv")" != "$(readlink -f "$venv")" ]]; then
    echo "venv: $root/.venv is a real directory, not a link; remove it to use $venv" >&2
    exit 1
fi

#!/usr/bin/env bash
# Installs what evalpod needs on a fresh Debian machine (run as root): bubblewrap,
# libseccomp, and the Python package with its runtime (torch pinned) and dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp.so.2' || need_apt+=(libseccomp2)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

extras="${EVALPOD_EXTRAS:-runtime,dev}"
stamp=".setup-stamp"
want="$(sha256sum pyproject.toml | cut -c1-16)-$extras"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && python3 -c "import evalpod, torch" 2>/dev/null; then
  exit 0
fi

pip_args=(-q)
[ -d /opt/wheels ] && pip_args+=(--find-links /opt/wheels)
echo "== pip install torch==2.13.0 (CPU wheel) and evalpod[$extras]"
# torch first and pinned: an unpinned resolve would pull gigabytes of CUDA packages.
python3 -m pip install "${pip_args[@]}" torch==2.13.0
python3 -m pip install "${pip_args[@]}" -e ".[$extras]"
echo "$want" > "$stamp"

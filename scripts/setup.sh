#!/usr/bin/env bash
# Installs what evalpod needs on a fresh Debian machine (run as root): bubblewrap,
# libseccomp, Redis, and a virtual environment inside the checkout (.venv) holding the
# Python package with its runtime (torch pinned) and the requested extras. The machine's
# global interpreter is never touched.
#
# EVALPOD_EXTRAS picks the extras (default "runtime,dev"). Each set of extras has its own
# stamp, and a venv that already holds a superset of what is asked is reused, so the
# quickstart and the test command never undo each other.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp.so.2' || need_apt+=(libseccomp2)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# promtool (CI's metrics format check) comes with Debian's prometheus package; optional:
# without it that check is skipped with a message.
if ! command -v promtool >/dev/null 2>&1; then
  echo "== apt-get install prometheus (for promtool)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends prometheus >/dev/null; } \
    || echo "   promtool unavailable; the metrics format check will be skipped"
fi

# Debian's Chromium for the dashboard's browser tests (tests/web, dev extra only):
# Playwright drives it and never downloads a browser. Optional: without it they skip.
if [[ ",${EVALPOD_EXTRAS:-runtime,dev}," == *",dev,"* ]] && ! command -v chromium >/dev/null 2>&1
then
  echo "== apt-get install chromium (for the dashboard's browser tests)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends chromium >/dev/null; } \
    || echo "   chromium unavailable; the dashboard's browser tests will be skipped"
fi

venv=".venv"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  echo "== python3 -m venv $venv"
  python3 -m venv "$venv"
fi

extras="${EVALPOD_EXTRAS:-runtime,dev}"
want="$(sha256sum pyproject.toml | cut -c1-16)"
stamp_ok=1
IFS=',' read -ra wanted <<<"$extras"
for extra in "${wanted[@]}"; do
  [ "$(cat "$venv/.stamp-$extra" 2>/dev/null)" = "$want" ] || stamp_ok=0
done
if [ "$stamp_ok" = 1 ] && "$py" -c "import evalpod" 2>/dev/null; then
  exit 0
fi

pip_args=(-q --disable-pip-version-check)
[ -d /opt/wheels ] && pip_args+=(--find-links /opt/wheels)
# pip's warnings about extras a dependency no longer declares (lm-eval's pull of
# mbstrdecoder[all]) and about index paths of this host's config are not the user's to act on.
pip_install() {
  "$py" -m pip install "${pip_args[@]}" "$@" \
    2> >(grep -v -e "does not provide the extra" -e "is ignored: it is neither a file" >&2)
}
echo "== $venv: pip install torch==2.13.0 (CPU wheel) and evalpod[$extras] (a few minutes, quietly)"
# torch first and pinned: an unpinned resolve would pull gigabytes of CUDA packages.
if [[ ",$extras," == *",runtime,"* ]]; then
  pip_install torch==2.13.0
fi
pip_install -e ".[$extras]"
echo "== $venv: installed"
for extra in "${wanted[@]}"; do echo "$want" > "$venv/.stamp-$extra"; done

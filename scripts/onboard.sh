#!/bin/sh
# Onboard a developer's Mac: install kdoctor (into its own environment) if missing, diagnose the
# machine, then bring up the `dev` cluster. Idempotent: safe to run again and again.
# Exit code: kdoctor up's (0 ready, 4 conflicting existing cluster, 5 preflight failed, ...).
#   KDOCTOR_PROFILE  profile to bring up (default: dev)
#   KDOCTOR_HOME     where kdoctor's own virtualenv lives (default: ~/.local/share/kdoctor)
#   KDOCTOR_SOURCE   what pip installs kdoctor from (default: this checkout)
set -u

profile="${KDOCTOR_PROFILE:-dev}"
kd_home="${KDOCTOR_HOME:-$HOME/.local/share/kdoctor}"
here=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
source_spec="${KDOCTOR_SOURCE:-$here}"

say() { printf 'onboard: %s\n' "$*" >&2; }

if command -v kdoctor >/dev/null 2>&1; then
  kd=kdoctor
elif [ -x "$kd_home/venv/bin/kdoctor" ]; then
  kd="$kd_home/venv/bin/kdoctor"
else
  say "installing kdoctor into $kd_home/venv"
  command -v python3 >/dev/null 2>&1 || { say "python3 (3.11+) is required"; exit 3; }
  python3 -m venv "$kd_home/venv" || { say "could not create a virtualenv"; exit 3; }
  "$kd_home/venv/bin/pip" install --quiet "$source_spec" || { say "could not install kdoctor from $source_spec"; exit 3; }
  kd="$kd_home/venv/bin/kdoctor"
fi

say "checking this machine (kdoctor diagnose)"
"$kd" diagnose
diagnose_rc=$?
if [ "$diagnose_rc" -eq 2 ]; then
  exit 2
fi
[ "$diagnose_rc" -eq 0 ] || say "diagnose reported problems (exit $diagnose_rc); the plan's preflight decides whether to go on"

say "bringing up the '$profile' cluster (kdoctor up --profile $profile --yes)"
"$kd" up --profile "$profile" --yes
up_rc=$?
case "$up_rc" in
  0)
    say "done. Next steps:"
    say "  kubectl config current-context     # the cluster kdoctor just prepared"
    say "  kdoctor images -A                  # check your workloads' images for arm64"
    say "  docker push localhost:5001/<image> # when the profile has a local registry"
    ;;
  4) say "an existing cluster differs from the profile; see the diff above (kdoctor up --recreate to replace it)" ;;
  5) say "preflight failed: nothing was changed; fix what it lists and run this script again" ;;
  *) say "kdoctor up exited $up_rc" ;;
esac
exit "$up_rc"

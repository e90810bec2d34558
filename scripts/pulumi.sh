#!/usr/bin/env bash
# npm run preview|up -- <stack> [pulumi args...]   e.g. npm run up -- local
# Runs the pinned Pulumi CLI (the `pulumi` devDependency) for one stack. Without PULUMI_BACKEND_URL
# the state lives in a local file backend inside the project (.pulumi-state/, git-ignored), so a
# newcomer needs no account. Set PULUMI_BACKEND_URL (or `npx pulumi login <url>`) for a shared one.
set -euo pipefail
cmd=${1:?usage: scripts/pulumi.sh preview|up <stack> [pulumi args...]}
shift
case "${1:-}" in
  -h | --help)
    echo "usage: npm run $cmd -- <stack> [pulumi args...]   (stacks: the Pulumi.<stack>.yaml files: local, staging, prod)"
    echo "example: npm run $cmd -- local"
    exit 0
    ;;
esac
stack=${1:?usage: npm run ${cmd} -- <stack> [pulumi args...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
# A stack that sets `copilotos:stateBackend: shared` (prod) refuses a local file backend: its
# generated secrets and history would live in one folder on this machine.
case "${PULUMI_BACKEND_URL:-file://}" in
  file://*)
    if grep -qE '^[[:space:]]*copilotos:stateBackend:[[:space:]]*"?shared"?[[:space:]]*$' "$root/Pulumi.$stack.yaml" 2>/dev/null && [ "${COPILOTOS_ALLOW_LOCAL_STATE:-}" != 1 ]; then
      echo "npm run $cmd: stack $stack needs a shared state backend (copilotos:stateBackend: shared): with a local file backend its secrets and history would live on this machine only." >&2
      echo "Set PULUMI_BACKEND_URL (s3://<bucket>/<prefix>, azblob://…, gs://…, or https://api.pulumi.com), or COPILOTOS_ALLOW_LOCAL_STATE=1 to accept it knowingly." >&2
      exit 2
    fi
    ;;
esac
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$root/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
fi
# A stack that a file backend creates here gets a passphrase of its own, generated once into the
# backend's folder (mode 0600, git-ignored): no prompt, no account. An existing stack without that
# file keeps whatever passphrase it was made with (Pulumi asks for it, or reads PULUMI_CONFIG_PASSPHRASE*).
case "$PULUMI_BACKEND_URL" in
  file://*)
    state=${PULUMI_BACKEND_URL#file://}
    pass="$state/$stack.passphrase"
    if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
      if [ ! -s "$pass" ] && [ ! -e "$state/.pulumi/stacks/copilotos/$stack.json" ]; then
        mkdir -p "$state"
        (umask 077 && head -c 32 /dev/urandom | base64 > "$pass")
        echo "npm run $cmd: stack $stack: generated its state passphrase in $pass (keep it: the stack's secrets in the state are encrypted with it)" >&2
      fi
      if [ -s "$pass" ]; then export PULUMI_CONFIG_PASSPHRASE_FILE="$pass"; fi
    fi
    ;;
esac
# Compile the CLIs the deploy runs (image delivery) now, so nothing compiles half-way through it.
node "$root/scripts/run.js" --build
policy=()
if [ -f "$root/policies/PulumiPolicy.yaml" ]; then
  policy=(--policy-pack "$root/policies")
  if [ -f "$root/policies/config.$stack.json" ]; then policy+=(--policy-pack-config "$root/policies/config.$stack.json"); fi
  # An EC2 host (copilotos:host kind: aws) is also checked by Pulumi's awsguard, less its documented
  # exceptions (policies/awsguard/exceptions.ts).
  if awk '/^  [^ #]/ { inhost = ($1 == "copilotos:host:") } inhost && /^[[:space:]]+kind:[[:space:]]*"?aws"?[[:space:]]*$/ { found = 1 } END { exit !found }' "$root/Pulumi.$stack.yaml" 2>/dev/null; then
    policy+=(--policy-pack "$root/policies/awsguard")
  fi
fi
# The deploy key the program writes for the ssh client (components/hosts/sshFiles.ts) is needed only
# while Pulumi runs (its engine deletes replaced containers after the program ends): removed when
# Pulumi exits, however it exits. The pinned known_hosts (no secret) stays.
key="${COPILOTOS_STATE_DIR:-$HOME/.copilotos}/ssh/copilotos-$stack/id_key"
trap 'rm -f "$key"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
status=0
# The stack is made on first use (the committed Pulumi.<stack>.yaml is its config).
npx --no-install pulumi stack select --create "$stack" --cwd "$root" >/dev/null || exit $?
npx --no-install pulumi "$cmd" --cwd "$root" --stack "$stack" "${policy[@]}" "$@" || status=$?
# After an update: where to open the app.
if [ "$status" = 0 ] && [ "$cmd" = up ]; then
  for out in webUrl apiHealthUrl; do
    url=$(npx --no-install pulumi stack output "$out" --cwd "$root" --stack "$stack" 2>/dev/null) && echo "$out: $url"
  done
fi
exit "$status"

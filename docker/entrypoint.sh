#!/bin/sh
# Entry point of the fleet image. Process mode (`fleet up`) starts every process through this
# same script, so the commands that run in containers are the ones exercised on a laptop and in
# the fleet's end-to-end test.
#
#   agent <name>      one agent worker: agents/<name>/src/main.ts
#   control-plane     the HTTP API and dashboard
#   migrate [args]    apply pending migrations, then exit (`fleet migrate`)
#   fleet <args>      the fleet CLI: status, tasks, task, enqueue, retry, cancel, schedules
#   anything else     run as given (e.g. `sh` for a shell in the container)
#
# Every Node process is started with `exec`, so it replaces this shell and receives the signals
# the init process (tini) forwards; nothing stands between SIGTERM and the graceful shutdown.
set -eu

cd "$(dirname "$0")/.."
NODE="${NODE:-node}"

usage() {
  echo "usage: entrypoint.sh agent <name> | control-plane | migrate | fleet <args...> | <command>" >&2
  echo "agents in this image: $(ls agents 2>/dev/null | tr '\n' ' ')" >&2
}

# TypeScript runs as it is, through tsx (docker/Dockerfile explains why there is no build step).
run_ts() {
  exec "$NODE" --enable-source-maps --import tsx "$@"
}

case "${1:-}" in
  agent)
    name="${2:-}"
    case "$name" in
      '' | *[!a-z0-9-]*)
        echo "entrypoint: 'agent' needs an agent name made of a-z, 0-9 and '-', got '$name'" >&2
        usage
        exit 2
        ;;
    esac
    entry="agents/$name/src/main.ts"
    if [ ! -f "$entry" ]; then
      echo "entrypoint: no agent '$name' here ($entry is missing); check the service's command" >&2
      usage
      exit 2
    fi
    shift 2
    run_ts "$entry" "$@"
    ;;
  control-plane)
    shift
    run_ts packages/control-plane/src/main.ts "$@"
    ;;
  migrate)
    shift
    run_ts packages/cli/src/main.ts migrate "$@"
    ;;
  fleet)
    shift
    run_ts packages/cli/src/main.ts "$@"
    ;;
  '' | -h | --help | help)
    usage
    [ -n "${1:-}" ] && exit 0
    exit 2
    ;;
  *)
    exec "$@"
    ;;
esac

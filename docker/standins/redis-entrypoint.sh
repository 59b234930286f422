#!/bin/sh
# Stand-in for the official redis image's entrypoint, for machines without a
# registry (scripts/base-images compose): like it, the server started without a
# configuration file accepts connections from other containers (protected mode
# off); reaching it is the compose network's business, and REDIS_PASSWORD's.
set -eu
if [ "${1:-}" = redis-server ]; then
  case "${2:-}" in
    *.conf) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
fi
exec "$@"

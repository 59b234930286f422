# shellcheck shell=bash
# The one installer of scripts/services (so scripts/test) and scripts/demo: what each needs,
# how to tell it is here, and the Debian package that brings it. Sourced, never run.
#
#   . scripts/lib/install.sh
#   PODIUM_LOG_TAG=demo
#   podium_ensure docker-cli docker-engine gcc    # install what is missing, or stop and say so
#   podium_start_docker /var/tmp/podium-demo      # start dockerd if no engine answers
#
# As root on Debian/Ubuntu it installs what is missing with apt-get (output in
# $PODIUM_INSTALL_LOG); as another user, without apt-get, or with PODIUM_NO_INSTALL=1 it
# stops, naming the packages and the one command to run as root.

declare -A _PODIUM_TEST=() _PODIUM_PACKAGES=() _PODIUM_WHAT=()

# podium_requirement NAME WHAT TEST PACKAGE... : NAME is here when the shell condition TEST
# holds; the Debian PACKAGEs bring it. One line per requirement.
podium_requirement() {
  local name=$1 what=$2 test=$3; shift 3
  _PODIUM_WHAT[$name]=$what
  _PODIUM_TEST[$name]=$test
  _PODIUM_PACKAGES[$name]="$*"
}

# The newest PostgreSQL server's bin folder (Debian installs it outside PATH).
podium_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

#                  name             what                          test                                                                 Debian packages
podium_requirement python3          "Python 3.11"                 'command -v "${PYTHON:-python3}"'                                    python3
podium_requirement python3-venv     "Python's venv module"        '[ -x .venv/bin/python ] || "${PYTHON:-python3}" -c "import ensurepip"' python3-venv
podium_requirement docker-cli       "the docker CLI"              'command -v docker'                                                  docker.io
# An engine that answers (perhaps remote or rootless) needs no dockerd here.
podium_requirement docker-engine    "the Docker engine"           'docker info || command -v dockerd'                                  docker.io
podium_requirement compose          "a compose CLI"               'docker compose version || command -v docker-compose'                docker-compose
podium_requirement gcc              "gcc"                         'command -v gcc'                                                     gcc libc6-dev
podium_requirement static-zlib      "a static zlib"               '[ -f "$(gcc -print-file-name=libz.a)" ]'                            zlib1g-dev
podium_requirement postgresql       "the PostgreSQL server"       '[ -x "$(podium_pg_bin)/pg_ctl" ]'                                   postgresql
podium_requirement postgresql-client "pg_isready"                 'command -v pg_isready'                                              postgresql-client
podium_requirement redis            "the Redis server"            'command -v redis-server'                                            redis-server
# (ldd fails on a static binary, saying so: no pipe, which pipefail would fail.)
podium_requirement busybox          "a static busybox"            '[ -x /bin/busybox ] && case "$(ldd /bin/busybox 2>&1)" in *"not a dynamic"*) ;; *) false ;; esac' busybox-static
podium_requirement chromium         "Chromium"                    'command -v chromium'                                                chromium
podium_requirement debootstrap      "debootstrap"                 'command -v debootstrap || [ -x /usr/sbin/debootstrap ]'             debootstrap
# The CNCF distribution registry; Podium starts it itself with its own config (token auth).
podium_requirement registry         "the image registry"          'command -v docker-registry'                                         docker-registry

# Packages whose Debian service must not start on installation: the package's own registry
# would listen on :5000 for everyone; the tests and the demo start theirs with Podium's config.
_PODIUM_NO_SERVICE=(docker-registry)

_podium_log() { printf '[%s] %s\n' "${PODIUM_LOG_TAG:-install}" "$*" >&2; }
_podium_die() { printf '[%s] ERROR: %s\n' "${PODIUM_LOG_TAG:-install}" "$*" >&2; exit 1; }

# podium_missing NAME... : the names whose test fails, one per line.
podium_missing() {
  local name
  for name in "$@"; do
    [ -n "${_PODIUM_TEST[$name]+x}" ] || _podium_die "unknown requirement '$name' (scripts/lib/install.sh)"
    if ! eval "${_PODIUM_TEST[$name]}" >/dev/null 2>&1; then printf '%s\n' "$name"; fi
  done
}

# podium_ensure NAME... : install what is missing as root with apt-get, or stop and say how.
podium_ensure() {
  local -a missing=() packages=() whats=()
  local name package p seen what_list=""
  for name in "$@"; do
    [ -n "${_PODIUM_TEST[$name]+x}" ] || _podium_die "unknown requirement '$name' (scripts/lib/install.sh)"
  done
  mapfile -t missing < <(podium_missing "$@")
  [ ${#missing[@]} -gt 0 ] || return 0
  for name in "${missing[@]}"; do
    whats+=("${_PODIUM_WHAT[$name]}")
    for package in ${_PODIUM_PACKAGES[$name]}; do
      seen=0
      for p in "${packages[@]}"; do [ "$p" != "$package" ] || seen=1; done
      [ $seen = 1 ] || packages+=("$package")
    done
  done
  for p in "${whats[@]}"; do what_list+="${what_list:+, }$p"; done
  local command="apt-get install -y --no-install-recommends ${packages[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    _podium_die "missing: $what_list. This is not Debian/Ubuntu: install them by hand (Debian packages: ${packages[*]})"
  fi
  if [ "${PODIUM_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
    _podium_log "missing: $what_list (Debian packages: ${packages[*]})"
    _podium_die "run this once as root, then run ${PODIUM_RERUN:-this} again: sudo $command"
  fi
  local log=${PODIUM_INSTALL_LOG:-/dev/stderr}
  [ "$log" = /dev/stderr ] || mkdir -p "$(dirname "$log")"
  _podium_log "installing ${packages[*]} for $what_list (apt-get; log $log)"
  # PODIUM_INSTALL_ROOT: where /usr/sbin and /etc are (tests point it at a scratch folder).
  local root=${PODIUM_INSTALL_ROOT:-} quiet=() our_policy=0
  local policy=$root/usr/sbin/policy-rc.d
  for p in "${packages[@]}"; do
    for q in "${_PODIUM_NO_SERVICE[@]}"; do [ "$p" != "$q" ] || quiet+=("$p"); done
  done
  if [ ${#quiet[@]} -gt 0 ] && [ ! -e "$policy" ] && [ -d "$(dirname "$policy")" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && our_policy=1
  fi
  local ok=1
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"; \
  } >>"$log" 2>&1 || ok=0
  if [ "$our_policy" = 1 ]; then
    rm -f "$policy"
    for q in "${quiet[@]}"; do
      if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now "$q.service" >/dev/null 2>&1 || true
      else
        rm -f "$root/etc/systemd/system/multi-user.target.wants/$q.service"
      fi
    done
  fi
  if [ "$ok" = 0 ]; then
    [ "$log" = /dev/stderr ] || tail -n 20 "$log" >&2
    _podium_die "'$command' failed (see above)"
  fi
  hash -r
  mapfile -t missing < <(podium_missing "$@")
  [ ${#missing[@]} -eq 0 ] || _podium_die "still missing after apt-get: ${missing[*]}"
}

# podium_start_docker STATE_DIR : make sure an engine answers; as root start dockerd if none does.
podium_start_docker() {
  local state=$1
  if docker info >/dev/null 2>&1; then
    _podium_log "Docker engine answering"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    _podium_die "no Docker engine answers and this user cannot start one: start it as root ('sudo systemctl start docker', or run dockerd) and give this user its socket ('sudo usermod -aG docker ${USER:-<you>}', then log in again)"
  fi
  command -v dockerd >/dev/null 2>&1 || _podium_die "no dockerd on PATH: apt-get install docker.io"
  mkdir -p "$state"
  # A dockerd killed uncleanly leaves its pid file behind and refuses to start over it; a pid
  # file naming a live process is left alone (that engine is merely not answering yet).
  local pidfile=${PODIUM_DOCKERD_PIDFILE:-/var/run/docker.pid} pid
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then rm -f "$pidfile"; fi
  fi
  _podium_log "starting dockerd (log: $state/dockerd.log)"
  (nohup dockerd >"$state/dockerd.log" 2>&1 &)
  local _
  for _ in $(seq 1 240); do
    if docker info >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  _podium_die "the Docker engine (dockerd) did not answer within 60 s: see $state/dockerd.log"
}

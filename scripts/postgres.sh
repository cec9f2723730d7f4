#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (Debian's postgresql-15; initdb refuses
# root, so the cluster belongs to the `postgres` user).
#
#   scripts/postgres.sh start DIR   initdb DIR/data on first use, then start it on a free
#                                   127.0.0.1 port (kept in DIR/data for later starts);
#                                   prints the URL and writes it to DIR/url
#   scripts/postgres.sh stop DIR    pg_ctl stop -m fast (nothing to do if not running)
#
# The cluster listens only on 127.0.0.1 (its Unix socket is in DIR/run), trusts local and
# loopback connections, and runs with fsync off: it is for tests and is thrown away. It does
# not use or disturb Debian's default cluster or port 5432. A second `start` of a stopped
# DIR reuses its data and its port (the outage test restarts the database this way).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
if [ ! -x "$PG_BIN/pg_ctl" ]; then
  echo "postgres.sh: $PG_BIN/pg_ctl not found (install postgresql-15: scripts/setup.sh)" >&2
  exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  elif [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    if [ ! -f "$data/PG_VERSION" ]; then
      # The postgres user must reach DIR: open up the directories above it that it cannot
      # traverse (mktemp -d makes them 0700).
      p="$dir"
      while [ "$p" != / ]; do
        as_postgres test -x "$p" 2>/dev/null || chmod o+x "$p"
        p=$(dirname "$p")
      done
      chown postgres: "$dir"
      as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
      as_postgres mkdir -p "$dir/run"
      cat >>"$data/postgresql.conf" <<EOF
# scripts/postgres.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/run'
max_connections = 300
fsync = off
full_page_writes = off
EOF
    fi
    port=$(sed -n 's/^port = \([0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1)
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      started=0
      if [ -z "$port" ]; then
        # First start: a free port, kept in postgresql.conf for later starts. Another
        # process may take it before the server binds it: then try another.
        for attempt in 1 2 3 4 5; do
          port=$(free_port)
          sed -i '/^port = /d' "$data/postgresql.conf"
          echo "port = $port" >>"$data/postgresql.conf"
          if as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
            started=1
            break
          fi
        done
      else
        # A restart: same port (clients keep their URL).
        for attempt in 1 2 3 4 5; do
          if as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
            started=1
            break
          fi
          sleep 1
        done
      fi
      if [ "$started" -ne 1 ]; then
        echo "postgres.sh: the cluster in $data did not start; its log:" >&2
        tail -n 30 "$dir/server.log" >&2 || true
        exit 1
      fi
    fi
    url="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac

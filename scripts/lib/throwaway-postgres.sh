# Sourced: start_throwaway_postgres [extra postgres options...] starts a PostgreSQL cluster of
# its own (initdb + pg_ctl, as the postgres user when run as root) on a free loopback port, with
# fsync on as in production, and removes it when the calling script exits. Sets PG_PORT and
# PG_BIN; PG_AS is the command prefix that runs a tool as the cluster's owner.
start_throwaway_postgres() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL's server is not installed (apt-get install postgresql)"; exit 1; }
  PG_WORK=$(mktemp -d /tmp/onsite-pg.XXXXXX)
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_WORK"
    PG_AS=(runuser -u postgres --)
  fi
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  trap '"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -m fast stop > /dev/null 2>&1 || true; rm -rf "$PG_WORK"' EXIT
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_WORK/data" -U postgres -A trust -E UTF8 > "$PG_WORK/initdb.log" 2>&1 ||
    { cat "$PG_WORK/initdb.log"; exit 1; }
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/postgres.log" -w \
    -o "-p $PG_PORT -k $PG_WORK -c listen_addresses=127.0.0.1 $*" start > /dev/null || { cat "$PG_WORK/postgres.log"; exit 1; }
  echo "==> PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (fsync on)"
}

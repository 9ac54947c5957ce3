#!/bin/sh
# A throwaway PostgreSQL server for the tests and benchmarks, started without prompts.
#
#   sh scripts/postgres_server.sh start DIR [PORT]   start one (or find it running); prints its URL
#   sh scripts/postgres_server.sh url DIR            prints the URL of the server running in DIR
#   sh scripts/postgres_server.sh stop DIR           stops it and removes DIR
#
# Everything lives in DIR: the data directory (DIR/data), the unix socket, the log (DIR/log)
# and the URL (DIR/url), e.g. postgresql://postgres@localhost:54321/postgres. The superuser is
# `postgres` with trust authentication on localhost only, fsync off: a server for tests, never
# for data anyone keeps. PORT defaults to a free one.
#
# Debian's `postgresql` package is installed with apt when initdb/pg_ctl are missing (as root
# or with passwordless sudo; otherwise a message says what to install). The server runs as a
# non-root user: initdb refuses root, so as root it runs as the `postgres` system user the
# package creates (DIR must be reachable by that user: a folder under /tmp is).
# Set PG_BINDIR to use other binaries than the newest /usr/lib/postgresql/<version>/bin.
set -eu

usage() {
    echo "usage: $0 start DIR [PORT] | url DIR | stop DIR" >&2
    exit 2
}

say() {
    echo "postgres_server: $*" >&2
}

# The folder holding initdb, pg_ctl and postgres (empty when there is none).
find_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        echo "$PG_BINDIR"
        return
    fi
    # the highest version (the glob lists them in lexical order: 10 before 9)
    best=""
    best_version=0
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
        version=$(basename "$(dirname "$dir")")
        case "$version" in
            *[!0-9]*) continue ;;
        esac
        if [ "$version" -gt "$best_version" ]; then
            best_version=$version
            best=$dir
        fi
    done
    if [ -n "$best" ]; then
        echo "$best"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

install_server() {
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        say "initdb and pg_ctl are missing and this user cannot install packages;"
        say "install them once with: sudo apt-get install postgresql"
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "initdb and pg_ctl are missing and there is no apt-get here;"
        say "install the PostgreSQL server binaries, or set PG_BINDIR to their folder"
        exit 1
    fi
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Run a command as the server's user: `postgres` when this is root, else this user.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

free_port() {
    for python in python3 python; do
        if command -v "$python" >/dev/null 2>&1; then
            "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
            return
        fi
    done
    # no Python: a port from the dynamic range, checked by the start itself
    echo $((49152 + $$ % 16000))
}

is_running() {
    [ -f "$DIR/data/postmaster.pid" ] && as_owner "$BINDIR/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1
}

start() {
    BINDIR=$(find_bindir)
    if [ -z "$BINDIR" ]; then
        install_server
        BINDIR=$(find_bindir)
        if [ -z "$BINDIR" ]; then
            say "the postgresql package is installed but no initdb/pg_ctl was found under /usr/lib/postgresql"
            exit 1
        fi
    fi
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    case "$DIR" in
        *"'"* | *"\\"*) say "DIR must not contain quotes or backslashes: $DIR"; exit 1 ;;
    esac
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            say "running as root, and there is no 'postgres' user to run the server as"
            say "(install Debian's postgresql package, or run this as a non-root user)"
            exit 1
        fi
        chown postgres "$DIR"
        if ! as_owner test -w "$DIR"; then
            say "the postgres user cannot write $DIR (a parent folder is closed to it);"
            say "choose a folder it can reach, e.g. one made by: mktemp -d /tmp/clearlane-pg.XXXXXX"
            exit 1
        fi
    fi
    if is_running; then
        cat "$DIR/url"
        return
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        rm -rf "$DIR/data"
        port=${PORT:-$(free_port)}
        as_owner "$BINDIR/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 \
            --no-locale --no-sync >"$DIR/initdb.log" 2>&1 || {
            cat "$DIR/initdb.log" >&2
            say "initdb failed"
            exit 1
        }
        # Settings in the configuration file (a path with spaces needs no shell quoting there).
        as_owner sh -c 'cat >>"$1"' sh "$DIR/data/postgresql.conf" <<EOF

# scripts/postgres_server.sh: a throwaway server for tests
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        echo "postgresql://postgres@localhost:$port/postgres" >"$DIR/url"
    fi
    if ! as_owner "$BINDIR/pg_ctl" start -D "$DIR/data" -l "$DIR/log" -w -t 60 >/dev/null; then
        tail -n 20 "$DIR/log" >&2 || true
        say "the server in $DIR did not start"
        exit 1
    fi
    cat "$DIR/url"
}

stop() {
    if [ ! -d "$DIR" ]; then
        return
    fi
    if [ -f "$DIR/data/postmaster.pid" ]; then
        BINDIR=$(find_bindir)
        if [ -n "$BINDIR" ] && is_running; then
            as_owner "$BINDIR/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 >/dev/null
        fi
    fi
    rm -rf "$DIR"
}

[ $# -ge 2 ] || usage
COMMAND=$1
DIR=$2
PORT=${3:-}
case "$COMMAND" in
    start) start ;;
    stop) stop ;;
    url)
        BINDIR=$(find_bindir)
        if [ -z "$BINDIR" ] || ! [ -f "$DIR/url" ] || ! is_running; then
            say "no server is running in $DIR; start one with: $0 start $DIR"
            exit 1
        fi
        cat "$DIR/url"
        ;;
    *) usage ;;
esac

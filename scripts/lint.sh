#!/usr/bin/env bash
# Static checks that keep the code honest:
#  1. layering: each target imports only what ARCHITECTURE.md allows;
#  2. no `try!` and no `fatalError` in Sources/ (typed errors instead);
#  3. no Package.resolved and no .build directory tracked by git.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
fail() { echo "lint: $*" >&2; status=1; }

# Allowed imports per target (besides the Swift standard library, Foundation where a shell
# needs it, Synchronization, Dispatch and Glibc/Darwin).
declare -A allowed=(
    [NakshaCore]=""
    [NakshaWire]="NakshaCore CZstd CNakshaCRC32C"
    [RaftCore]="NakshaCore"
    [NakshaActors]="NakshaCore NakshaWire NIOCore NIOPosix NIOSSL NIOConcurrencyHelpers Distributed CoreMetrics Metrics"
    [NakshaRaftStorage]="NakshaCore RaftCore NakshaWire"
    [NakshaRaft]="NakshaCore RaftCore NakshaWire NakshaRaftStorage NakshaActors NIOCore NIOPosix Distributed Logging CoreMetrics Metrics"
    [NakshaGraph]="NakshaCore Yams"
    [NakshaClusterAPI]="NakshaCore NakshaActors NakshaState NakshaGraph Distributed"
    [NakshaVector]="NakshaCore CNakshaPrefetch"
    [NakshaState]="NakshaCore NakshaGraph"
    [NakshaStore]="NakshaCore CLibPQ Logging Metrics CoreMetrics"
    [NakshaObservability]="NakshaCore Logging Metrics Prometheus CoreMetrics"
    [NakshaProviders]="NakshaCore AsyncHTTPClient NIOCore NIOHTTP1 Logging"
    [NakshaProtocol]="NakshaCore NakshaWire SwiftProtobuf NIOCore NIOPosix CoreMetrics Metrics"
    [NakshaWorker]="NakshaCore NakshaWire NakshaActors NakshaGraph NakshaVector NakshaState NakshaClusterAPI NakshaStore NakshaObservability NakshaProviders NakshaProtocol ServiceLifecycle UnixSignals AsyncHTTPClient Hummingbird Logging Metrics CoreMetrics NIOCore NIOHTTP1"
    [NakshaSimulation]="NakshaCore RaftCore NakshaRaftStorage NakshaWire"
)
# Pure cores: no Foundation at all.
pure_targets="NakshaCore RaftCore NakshaVector NakshaSimulation NakshaRaftStorage"

for target in "${!allowed[@]}"; do
    dir="Sources/$target"
    [[ -d $dir ]] || continue
    while IFS= read -r line; do
        file=${line%%:*}
        module=$(sed -E 's/^.*import[[:space:]]+(struct |class |enum |func |protocol )?([A-Za-z_0-9]+).*/\2/' <<<"${line#*:}")
        case " $module " in
            " Swift "|" Synchronization "|" Dispatch "|" Glibc "|" Musl "|" Darwin "|" _Concurrency ") continue ;;
            " Foundation "|" FoundationEssentials ")
                if [[ " $pure_targets " == *" $target "* ]]; then fail "$file: $target is a pure core and may not import $module"; fi
                continue ;;
        esac
        if [[ " ${allowed[$target]} " != *" $module "* ]]; then
            fail "$file: $target may not import $module (ARCHITECTURE.md layering)"
        fi
    done < <(grep -HE '^[[:space:]]*(@preconcurrency[[:space:]]+|@_exported[[:space:]]+|public[[:space:]]+|internal[[:space:]]+)?import[[:space:]]' -r "$dir" --include='*.swift' || true)
done

if grep -rnE 'try!|fatalError\(' Sources --include='*.swift' | grep -v '// lint:allow'; then
    fail "try! and fatalError are not allowed in Sources/ (use typed errors; preconditions for programmer errors)"
fi

if git ls-files --error-unmatch Package.resolved >/dev/null 2>&1; then fail "Package.resolved must not be committed"; fi
if [[ -n $(git ls-files '.build*' 2>/dev/null) ]]; then fail ".build must not be committed"; fi

if ((status == 0)); then echo "lint: ok"; fi
exit $status

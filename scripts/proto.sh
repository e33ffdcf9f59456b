#!/usr/bin/env bash
# Regenerates the client protocol's code from proto/naksha/v1/*.proto:
#   Sources/NakshaProtocol/Generated/  (Swift, protoc-gen-swift from the swift-protobuf package)
#   clients/python/naksha/v1/          (Python, protoc's own generator)
# protoc comes from Debian's protobuf-compiler (scripts/setup.sh installs it). The plugin is
# built once from the swift-protobuf version Package.swift resolves, into .build-protoc/.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "error: protoc not found; run make setup" >&2; exit 1; }
swift package resolve >/dev/null
source=.build/checkouts/swift-protobuf
[[ -d $source ]] || { echo "error: $source is missing after swift package resolve" >&2; exit 1; }
plugin=.build-protoc/release/protoc-gen-swift
if [[ ! -x $plugin || $source/Package.swift -nt $plugin ]]; then
    echo "==> building protoc-gen-swift (once; about a minute)"
    swift build -c release --package-path "$source" --scratch-path .build-protoc --product protoc-gen-swift >/dev/null
fi
rm -rf Sources/NakshaProtocol/Generated clients/python/naksha
mkdir -p Sources/NakshaProtocol/Generated clients/python
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out=Sources/NakshaProtocol/Generated \
    -I proto proto/naksha/v1/*.proto
protoc --python_out=clients/python -I proto proto/naksha/v1/*.proto
echo "==> regenerated: $(find Sources/NakshaProtocol/Generated clients/python/naksha -name '*.swift' -o -name '*_pb2.py' | sort | tr '\n' ' ')"

# Naksha — developer entry points. `make` alone prints this list.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
NAKSHA := .build/debug/naksha
# CPU-bound suites (pure cores, simulation, kernels) run first and alone: they would
# otherwise occupy Swift's cooperative threads (one per core) and starve the network
# suites' timers and deadlines.
# The worker replicas' suite (thousands of HNSW inserts, no deadlines) runs with them.
PURE_SUITES := ^(NakshaCoreTests|NakshaWireTests|RaftCoreTests|NakshaSimulationTests|NakshaGraphTests|NakshaVectorTests|NakshaStateTests|NakshaClusterAPITests)\.|^NakshaCLITests\.ShardReplicaTests
# The Postgres suites come next, alone too: bulk COPY tests encode and compare millions of
# floats on a cooperative thread for seconds, which starved the actor suites' deadlines.
STORE_SUITES := ^NakshaStoreTests\.
# The client protocol's suites run alone as well: a 100,000-input fuzz run and 1,000
# concurrent calls would starve the actor suites' deadlines.
PROTOCOL_SUITES := ^NakshaProtocolTests\.
# The actor transport's suites run alone: their calls have deadlines of a few seconds, which
# the other network suites (each starting pairs of actor systems) starved on two cores.
ACTOR_SUITES := ^NakshaActorsTests\.
# Real coordinator processes last, alone, one test at a time (--no-parallel also serialises
# swift-testing suites): the failover test times kill -9 → new leader, and the log-safety
# tests fill a disk and race a snapshot install.
PROCESS_SUITES := ^NakshaCLITests\.CoordinatorProcessTests|^NakshaCLITests\.LogSafetyProcessTests|^NakshaCLITests\.JobQueueProcessTests|^NakshaCLITests\.WorkerProcessTests|^NakshaCLITests\.DevClusterProcessTests|^NakshaCLITests\.ClientProtocolProcessTests|^NakshaCLITests\.VectorProcessTests

.PHONY: help setup build test run stop bench bench-raft lint proto clean

help: ## Show the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install missing system packages (apt) and Python test packages; idempotent
	@bash scripts/setup.sh

build: setup ## Build every target (debug)
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: setup ## Set up, build, lint, run every test suite, build the release binary; non-zero exit on any failure
	@bash scripts/lint.sh
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --filter '$(PURE_SUITES)'
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --filter '$(STORE_SUITES)'
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --filter '$(PROTOCOL_SUITES)'
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --filter '$(ACTOR_SUITES)'
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --skip '$(PURE_SUITES)' --skip '$(STORE_SUITES)' --skip '$(PROTOCOL_SUITES)' --skip '$(ACTOR_SUITES)' --skip '$(PROCESS_SUITES)'
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS) --no-parallel --filter '$(PROCESS_SUITES)'
	@# The optimiser compiles differently: Swift 6.3.1 once crashed on release code only.
	$(SWIFT) build -c release --product naksha $(SWIFT_BUILD_FLAGS)

QUESTION ?= How does Naksha make sure an acknowledged write is never lost?

run: build ## Start a local cluster (3 coordinators, 2 workers, Postgres) in the background, ingest docs/, answer a question
	@$(NAKSHA) dev up --detach --reuse
	@$(NAKSHA) ingest docs --collection docs --shards 2 --replicas 2
	@$(NAKSHA) ask "$(QUESTION)"
	@echo ""
	@echo "Try more:"
	@echo "  $(NAKSHA) ask \"How do workers learn that a job was cancelled?\""
	@echo "  $(NAKSHA) submit sample_rag --input question=\"What is a lease?\" --wait   # submit, show each task live"
	@echo "  $(NAKSHA) submit graphs/slow_steps.yaml                     # a graph file; prints the job id"
	@echo "  $(NAKSHA) job watch ID                                      # follow a job's changes as they happen"
	@echo "  $(NAKSHA) job status ID                                     # its status, tasks, outputs and state"
	@echo "  $(NAKSHA) jobs list --status running                        # jobs; also cancel/resume: naksha job --help"
	@echo "  $(NAKSHA) cluster status                                    # members, roles, the Raft leader"
	@echo "  $(NAKSHA) dev status                                        # the processes and their logs"
	@echo "  $(NAKSHA) dev scale --workers 4                             # more workers"
	@echo "  cluster/local.sh kill leader                                # failover by hand (docs/quickstart.md)"
	@echo "  $(NAKSHA) dev stop                                          # stop the cluster (or: make stop)"

stop: ## Stop the local cluster that `make run` started
	@$(NAKSHA) dev stop

bench: setup ## Run the benchmarks (release build; see benchmarks/README.md)
	cd benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

bench-raft: setup ## Raft writes/s, latency, failover: naksha (release) vs etcd, same machine, same run
	$(SWIFT) build -c release --product naksha
	.build/release/naksha bench raft --nodes 3 --clients 64 --value-size 256 --duration 20s
	bash benchmarks/peers/etcd/run.sh --duration 20 --no-check-perf

proto: setup ## Regenerate the committed Swift and Python code from proto/naksha/v1/*.proto (protoc + protoc-gen-swift)
	@bash scripts/proto.sh

lint: ## Check layering, forbidden constructs and tracked build artefacts
	@bash scripts/lint.sh

clean: ## Remove build products and local data
	rm -rf .build .build-* benchmarks/.build .naksha data

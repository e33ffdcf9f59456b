import AsyncHTTPClient
import Hummingbird
import Logging
import NakshaActors
import NakshaClusterAPI
import NakshaObservability
import NakshaProviders
import NakshaStore
import ServiceLifecycle
import UnixSignals

/// A worker process: its actor system (to reach the coordinators), the task loop, and its
/// HTTP port (`/healthz`, `/readyz`, `/metrics`), run in one `ServiceGroup` that shuts down
/// gracefully on SIGTERM and SIGINT.
public final class Worker: Sendable {
    public let configuration: WorkerConfiguration
    let system: NakshaActorSystem
    let loop: WorkerLoop
    let httpClient: HTTPClient
    let coldStore: PostgresColdStore?
    let metrics: MetricsExport
    let logger: Logger
    /// Kept so the well-known actor stays resolvable for routers.
    let shardEndpoint: ShardEndpoint?

    private init(
        configuration: WorkerConfiguration, system: NakshaActorSystem, loop: WorkerLoop, httpClient: HTTPClient,
        coldStore: PostgresColdStore?, metrics: MetricsExport, logger: Logger, shardEndpoint: ShardEndpoint?
    ) {
        self.shardEndpoint = shardEndpoint
        self.configuration = configuration
        self.system = system
        self.loop = loop
        self.httpClient = httpClient
        self.coldStore = coldStore
        self.metrics = metrics
        self.logger = logger
    }

    public static func start(_ configuration: WorkerConfiguration, logger: Logger) async throws -> Worker {
        try configuration.validate()
        let metrics = MetricsExport.bootstrap()
        let coldStore: PostgresColdStore?
        do {
            coldStore = try configuration.databaseURL.map { url in
                PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": url]))
            }
        } catch {
            throw WorkerError(.invalidConfiguration, "DATABASE_URL: \(error)")
        }
        let system: NakshaActorSystem
        do {
            system = try await NakshaActorSystem.start(
                ActorSystemConfiguration(
                    host: configuration.peerHost, port: configuration.peerPort, rebuildableErrors: [ClusterAPIError.self],
                    clusterSecret: configuration.clusterSecret))
        } catch {
            throw WorkerError(.startFailed, "cannot listen on \(configuration.peerHost):\(configuration.peerPort): \(error)")
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let providers = ModelProviders(settings: configuration.providers, httpClient: httpClient)
        let connection = ClusterConnection(system: system, coordinators: configuration.coordinators, logger: logger)
        // Shards are served only with a cold store, their durable copy.
        let shards = coldStore.map {
            ShardServer(worker: configuration.id, memoryBudgetBytes: configuration.memoryBudgetBytes, coldStore: $0, logger: logger)
        }
        let shardEndpoint = shards.map { ShardEndpoint.start(backend: $0, system: system) }
        let loop = WorkerLoop(
            configuration: configuration, connection: connection, providers: providers,
            vectors: VectorCollections(coldStore: coldStore, connection: connection, logger: logger), shards: shards,
            shardAddress: shards == nil ? nil : system.address.description, httpClient: httpClient, logger: logger)
        logger.info(
            "worker started",
            metadata: [
                "worker": "\(configuration.id)", "coordinators": "\(configuration.coordinators.map(\.description))",
                "concurrency": "\(configuration.concurrency)", "http": "\(configuration.httpHost):\(configuration.httpPort)",
                "peer_address": "\(system.address)", "cold_store": "\(configuration.databaseURL == nil ? "none (vectors in memory)" : "postgres")",
                "providers": "\(configuration.providers.usesOpenAI ? "openai at \(configuration.providers.openAIBaseURL)" : "offline (no OPENAI_KEY)")",
            ])
        return Worker(
            configuration: configuration, system: system, loop: loop, httpClient: httpClient, coldStore: coldStore, metrics: metrics,
            logger: logger, shardEndpoint: shardEndpoint)
    }

    /// Runs until SIGTERM or SIGINT, then drains (see `WorkerLoop`) and closes everything.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        // The group stops services in reverse order: the task loop drains first while the
        // HTTP port still answers (`/readyz` says 503 meanwhile).
        let services: [any Service] = [httpApplication(), loop]
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: signals, logger: logger))
        do {
            try await group.run()
        } catch {
            await close()
            throw error
        }
        await close()
    }

    private func close() async {
        do {
            try await httpClient.shutdown()
        } catch {
            logger.debug("HTTP client already shut down", metadata: ["error": "\(error)"])
        }
        await coldStore?.shutdown()
        await system.shutdown()
    }

    private func httpApplication() -> some Service {
        let router = Router()
        let loop = self.loop
        let metrics = self.metrics
        let id = configuration.id
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let ready = await loop.isReady()
            let body = ready ? "ready: worker \(id), \(loop.runningCount) tasks running\n" : "not ready: worker \(id) is not registered with a leader\n"
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: MetricsExport.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        return Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(configuration.httpHost, port: configuration.httpPort)),
            logger: logger)
    }
}

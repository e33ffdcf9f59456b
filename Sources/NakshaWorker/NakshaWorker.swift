// Not built yet. This target will hold:
//
// The worker service: the task loop that leases graph nodes, the node executors,
// and the vector shard server.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaWorker` target.
enum NakshaWorkerPlaceholder {}

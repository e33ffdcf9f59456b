// Not built yet. This target will hold:
//
// `ClusterState`: the deterministic replicated state machine (jobs, leases, retries,
// vector shard map, worker registry, graph registry) and its commands.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaState` target.
enum NakshaStatePlaceholder {}

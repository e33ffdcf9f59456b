// Not built yet. This target will hold:
//
// The coordinator service: RaftNode + ClusterState + the client protocol and HTTP
// gateway + the archiver that moves finished jobs to the cold store.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaCoordinator` target.
enum NakshaCoordinatorPlaceholder {}

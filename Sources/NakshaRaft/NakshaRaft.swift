// Not built yet. This target will hold:
//
// The Raft shell: the segmented write-ahead log, zstd snapshots and the `RaftNode`
// distributed actor that drives `RaftCore` over `NakshaActors`.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaRaft` target.
enum NakshaRaftPlaceholder {}

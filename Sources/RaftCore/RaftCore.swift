// Not built yet. This target will hold:
//
// A sans-I/O Raft: a value type stepped by messages and ticks that returns what to
// persist, send and apply (election, pre-vote, check-quorum, replication, snapshots,
// membership with learners, leader transfer, ReadIndex). No clocks, sockets or files.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `RaftCore` target.
enum RaftCorePlaceholder {}

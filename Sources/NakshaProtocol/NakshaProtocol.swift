// Not built yet. This target will hold:
//
// The client protocol: proto3 messages generated from proto/naksha/v1, RPC framing
// (methods, deadlines, metadata, status codes, server streams), server and Swift client.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaProtocol` target.
enum NakshaProtocolPlaceholder {}

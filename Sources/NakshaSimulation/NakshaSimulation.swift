// Not built yet. This target will hold:
//
// Test support for deterministic simulation: a simulated network (delay, drop,
// duplicate, reorder, partition), disk (lost unsynced writes, torn tails) and clock, all
// driven by one seeded PRNG.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaSimulation` target.
enum NakshaSimulationPlaceholder {}

// Not built yet. This target will hold:
//
// Workflow graph definitions in YAML, their validation (errors with line and column)
// and the pure planner: graph + job state + finished node -> state update + next nodes.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaGraph` target.
enum NakshaGraphPlaceholder {}

// Not built yet. This target will hold:
//
// Metric names declared once, the logging and metrics bootstrap (JSON lines,
// Prometheus), and the model behind /healthz and /readyz.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaObservability` target.
enum NakshaObservabilityPlaceholder {}

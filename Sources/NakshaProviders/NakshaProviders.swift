// Not built yet. This target will hold:
//
// Embedding and LLM providers: an OpenAI-compatible HTTP client and the built-in
// offline providers used when no key is configured.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaProviders` target.
enum NakshaProvidersPlaceholder {}

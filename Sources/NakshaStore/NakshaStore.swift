// Not built yet. This target will hold:
//
// The `ColdStore` protocol and its Postgres implementation over libpq (pool,
// migrations, COPY in binary format). The only importer of CLibPQ.
//
// See ARCHITECTURE.md (targets and layering) and the open issues for the plan. Nothing here
// pretends to work: the target compiles so that the package layout is fixed from day one.

/// Marker for the not-yet-built `NakshaStore` target.
enum NakshaStorePlaceholder {}

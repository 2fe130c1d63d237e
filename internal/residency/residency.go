// Package residency gives back the resident pages of crisp's own executable
// that only start-up needed.
//
// Crisp's binary is large (SQLite, CEL, PostgreSQL's driver, the tokenizer's
// vocabularies) and start-up runs much of it once: package initialisers,
// migrations, policy compilation, the vocabulary load. Those pages stay
// mapped, and count in the process's resident set, long after; serving
// touches a fifth of them. ReleaseExecutable drops the executable's
// read-only mappings from the process's page tables. The pages stay in the
// kernel's page cache, so what serving does use comes back on first touch
// with a minor fault and no disk read; the rest stops counting as crisp's.
// The kernel would reclaim these clean pages under memory pressure anyway:
// this only says that they are not in use.
package residency

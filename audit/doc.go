// Package audit owns Crisp's audit trail: one tamper-evident record per AI
// use (proxy request, draft, MCP tool call, context API read) and per admin
// change (keys, catalog, policies), hash-chained per workspace, written by a
// group-commit writer, and reviewed through List, Get, Verify and Export, the
// `crisp audit` CLI and GET /api/v1/audit….
//
// It must never store a value from a request or an answer: a record holds
// metadata (who, what, which rule, which fields, which detectors and how many
// redactions) and the sha256 of the bodies, nothing else. It must never let an
// AI use go unrecorded: Begin fails when the intent cannot be made durable,
// and the caller must then not contact the provider (503 audit_unavailable).
//
// # The chain
//
// Each workspace's records form one chain ordered by seq (1, 2, 3, …):
//
//	hash = lowercase hex of sha256( prev_hash || body )
//
// where prev_hash is the previous record's hash as 64 ASCII hex characters
// ("" for the first record of a chain that was never pruned), || is byte
// concatenation, and body is the record's canonical JSON without the "hash"
// member. The canonical JSON is RFC 8785 (JCS) applied to the record as
// exported (`crisp audit export --format jsonl` prints each record's
// canonical JSON with "hash" added), so an outside verifier can, per line:
// drop "hash", serialise the rest with any JCS implementation, prepend the
// previous line's hash, sha256, and compare. Concretely the body is:
//
//   - one JSON object, no whitespace, members sorted by key (UTF-16 code
//     units, which is byte order for the ASCII keys used here), nested
//     objects likewise;
//   - every member always present: strings (possibly ""), integers, booleans,
//     [] for empty lists, {} for an empty redaction map;
//   - strings as UTF-8, escaping only '"', '\\' and control characters
//     (\b \f \n \r \t, others as \u00xx in lowercase hex); invalid UTF-8 is
//     replaced by U+FFFD before hashing;
//   - "time" as UTC with exactly six fractional digits,
//     2006-01-02T15:04:05.000000Z;
//   - latency_ms and ttft_ms rounded to three decimals (microseconds) and
//     written in shortest form (12.5, 0, 1234.567); integers in decimal.
//
// # Checkpoints
//
// A checkpoint signs a chain head with ed25519 so a wholly rewritten chain is
// detectable. The signed message is the UTF-8 text
//
//	crisp-audit-checkpoint/v1\n<workspace>\n<seq>\n<hash>\n<pruned_seq>\n<pruned_hash>\n<at>\n
//
// with integers in decimal and at in unix microseconds. Pruning (retention)
// removes a prefix of the chain and leaves a checkpoint whose pruned_seq and
// pruned_hash the first remaining record's seq-1 and prev_hash must match.
package audit

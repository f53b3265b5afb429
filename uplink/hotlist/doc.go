// Package hotlist is the list of wanted plates as the device holds it: not the plates but
// their digests under a site key, through a deliberately slow, memory-hard hash (Argon2id),
// signed by the backend.
//
// The backend builds a list with [Build] and signs it with [List.Marshal]; the device parses
// and verifies it with [Verify] and matches a fused read's few best candidates with a
// [Matcher]. A [Store] holds the list a device uses, applies a signed update atomically
// (refusing an older version or a list for another site or site key) and keeps the newest
// copy in the state folder. A [Gate] applies the send mode (all, hits, hashed) to each
// result and counts what it saw, sent and discarded.
//
// Both sides fold the characters a recognizer confuses ([Canonical]: O and Q and D to 0, I
// and L to 1, Z to 2, S to 5, G to 6, B to 8) before hashing, so a read of 8O1 still matches
// a list entry B0I. The byte layout is documented in docs/hotlist.md with a test vector.
//
// What the hashing protects: the list file and the device's memory hold no plate in clear,
// and without the site key a digest cannot be tested at all. What it does not: whoever holds
// the site key (a stolen box holds it) can test guesses, at the cost of one Argon2id hash
// each. The package is cgo-free.
package hotlist

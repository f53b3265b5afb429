// Package outbox is lprd's durable queue of sealed envelopes between the
// sealing and the broker's acknowledgement.
//
// Every envelope is written to its own file in the outbox folder (temporary
// file, fsync, rename, fsync of the folder) before it is published, and its
// file is removed only when the broker has acknowledged it (PUBACK). A crash
// or a power cut at any moment therefore leaves each envelope either absent
// (it was never acknowledged to the caller) or complete. Redelivery after a
// crash can duplicate an envelope; the backend drops duplicates by sequence
// number and event id.
//
// File names carry the sequence number and the sealing time
// (<seq, 20 digits>-<unix ms, 13 digits>.env), so that opening the outbox
// needs no reads and delivery follows the sequence order.
//
// The outbox also owns the per-device sequence counter: [Outbox.Reserve]
// never returns a number twice once an envelope carried it, across restarts
// and crashes. The highest number used is always on disk: in an envelope's
// file name, in the marker (<name>.acked) that replaces the newest envelope
// file once it is acknowledged, or in the counter file "seq" (written with
// fsync on Close and whenever a reserved number was not stored). A fresh or
// lost counter starts at the current Unix time in milliseconds times 1000,
// which stays above any earlier count of the same device.
//
// The outbox is bounded by count, bytes and age. When it is full, the policy
// either evicts the oldest envelopes (DropOldest) or refuses the new one
// (RejectNew, [ErrFull]); expired, evicted and refused envelopes are counted
// in [Stats], never dropped silently. It holds ciphertext only.
//
// One process at a time may open an outbox folder (an exclusive flock on its
// LOCK file).
package outbox

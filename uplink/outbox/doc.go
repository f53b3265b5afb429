// Package outbox is lprd's durable queue of sealed envelopes between the
// sealing and the broker's acknowledgement or, with end-to-end
// acknowledgements, the backend's confirmation: then an envelope the broker
// acknowledged waits for the backend in a second state ([Outbox.MarkSent],
// a .sent file named with the PUBACK time), is published again when the
// confirmation is late ([Outbox.Due]) and leaves on [Outbox.Confirm]
// (acks.go). The limits and the policy cover both states.
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
// which stays above any earlier count of the same device. While the outbox
// is open the counter file says "<n> running"; Close writes "<n>". An Open
// that finds "running" (a crash, a power cut, or a stop while the folder
// could not be written, when numbers may have gone out from memory with no
// file recording them) takes the same clock-based jump, so that no number
// is ever used twice; the backend sees a counter reset then.
//
// # When the folder cannot be written
//
// A full, read-only or failing folder (ENOSPC, EROFS, EACCES, EIO on a
// write, fsync or rename) does not lose a read: [Outbox.Put] keeps the
// sealed envelope in a bounded memory queue (Options.MemoryMaxCount and
// MemoryMaxBytes) and says so with a [StoreError] wrapping
// [ErrKeptInMemory]. Held envelopes are listed by Next and returned by Read
// like stored ones, so they are still delivered; [Outbox.Retry] (with a
// back-off) and every later Put write them to the folder, in order, once it
// works again. They are lost only if the process stops first (Close says
// how many) or when the memory queue overflows: then the policy drops the
// oldest held envelope or the new one, counted in Stats.Dropped and
// reported with [ErrDropped]. Stats.InMemory and StoreErrors show the state.
// The folder's writes go through [FS], which tests replace by one that
// fails.
//
// The outbox is bounded by count, bytes and age. When it is full, the policy
// either evicts the oldest envelopes (DropOldest) or refuses the new one
// (RejectNew, [ErrFull]); expired, evicted and refused envelopes are counted
// in [Stats], never dropped silently. It holds ciphertext only.
//
// One process at a time may open an outbox folder (an exclusive flock on its
// LOCK file).
package outbox

// Package fusion turns the per-frame plate reads of a lane camera into one result per vehicle
// pass.
//
// A vehicle is read in many frames, each read a little different (a character missed, an 8 for
// a B, a frame blurred). A [Fuser] groups the reads of one plate into a track by position,
// motion and text similarity, and when the track closes it votes: per character position,
// weighted by the recognizer's character confidences, and over whole candidate texts, then ranks
// the outcome with the plate-format rules. A track closes
//   - when the plate has left: no read for Options.LeaveAfter;
//   - when the caller closes the trigger window (the presence loop released): [Fuser.CloseWindow];
//   - after Options.MaxDelay from its first read, so that a result never waits on a vehicle that
//     stays. The track then lives on silently, absorbing the reads of the standing vehicle until
//     it leaves, so a parked car gives one result, not a stream.
//
// A result whose best text does not clearly beat the next carries Ambiguous and its candidates;
// it is never dropped.
//
// Reads are forgotten on time: once a vehicle's result is emitted (or dropped as too
// uncertain) its track lets go of every read and text, by default at once and never later than
// [MaxRetain] (Options.Retain). What stays to follow a standing vehicle and to suppress repeats
// is a digest of the text under a key drawn by [New] and held only in memory.
//
// The Fuser takes explicit timestamps (the capture time of each frame and the "now" of each
// Tick), so it is deterministic and tests need no clock. It is not safe for concurrent use: one
// goroutine owns it. The package is cgo-free.
package fusion

// Package envelope defines the read event that lprd reports and the sealed,
// signed envelope that carries it from the device to the backend.
//
// An [Event] is encoded as canonical JSON ([Event.MarshalCanonical]): keys in
// lexicographic order, no insignificant white space, times in UTC with
// millisecond precision, confidences rounded to four decimals. The encoding is
// a subset of RFC 8785 (JCS), so a backend in any language can re-create the
// exact bytes.
//
// A [Sealer] seals the event with HPKE (RFC 9180, Go's crypto/hpke) to the
// backend's public key and signs the result with the device's Ed25519 key.
// The HPKE info is the envelope header, which binds the ciphertext to the
// suite, the recipient and signing key ids, the device id, the per-device
// sequence number and the sealing time. The device holds no key that opens an
// envelope. The byte layout is specified in docs/envelope.md, with test
// vectors in testdata/vectors.
//
// On the receiving side, [Parse] splits an envelope without trusting it,
// [Envelope.Verify] checks the signature and [Envelope.Open] decrypts it.
//
// The package is pure Go and builds with CGO_ENABLED=0.
package envelope

// Package uplink takes lprd's read events to the backend: it seals each
// event to the backend's key and signs it (package envelope), stores the
// envelope durably (package outbox) and publishes it over MQTT with QoS 1,
// removing it from the outbox only when the backend's signed acknowledgement
// says the backend holds it (Options.BackendVerifyKeyFile; without the key,
// when the broker acknowledged it).
//
// Topics, under a configurable prefix (default "lpr"), one subtree per
// device so that broker ACLs can pin a device to its own:
//
//	<prefix>/<site>/<device>/reads   sealed envelopes, QoS 1, not retained
//	<prefix>/<site>/<device>/status  retained "online" on every connection,
//	                                 "offline" as the Last Will, "stopped" on Close
//	<prefix>/<site>/<device>/health  retained JSON (Health) every HealthInterval
//	<prefix>/<site>/<device>/acks    subscribed: the backend's signed acks and
//	                                 refusals (docs/acks.md)
//
// Neither status nor health ever carries plate text; reads carry it only
// inside the envelope.
//
// # Signed status and health
//
// Status and health are signed with the device's signing key (the one that
// signs its envelopes) as envelope.SignMonitor messages: the device id, the
// topic, the time and the body (the status word as a JSON string, or the
// Health object) under one Ed25519 signature, so that a client allowed to
// publish on another device's topics cannot show it "online" with forged
// figures, nor move a real message to another device. lprctl status -devices
// verifies them (docs/monitoring.md has the format). The Last Will is handed
// to the broker when the uplink is created and the broker publishes it as
// is, so it is signed then: its time is the uplink's start time, not the
// moment the connection dropped. "online" and "stopped" carry the time they
// were published, health its own time field.
//
// # Why the device uses a clean MQTT session
//
// The outbox is the device's durable session. paho's own resend of in-flight
// messages after a reconnection replaces the publish tokens, and it
// completes the replaced tokens without an error although no PUBACK arrived
// (messageids.go, claimID in paho v1.5.1); trusting such a token would
// delete from the outbox a read the broker never acknowledged. So the device
// connects with a clean session and without paho's automatic reconnection:
// when a connection drops, paho fails every pending token, and the Run loop
// reconnects with a capped back-off and republishes from the oldest envelope
// not yet acknowledged, in order. A read can therefore arrive twice (when a
// PUBACK was lost), never zero times; the backend drops duplicates by
// sequence number and event id. The backend's subscriber (lprctl listen) is
// the one that needs a persistent session, so that the broker queues reads
// while it is away.
//
// # End-to-end acknowledgements
//
// A PUBACK is not delivery (a denied publish is acknowledged under MQTT
// 3.1.1, a crashed broker forgets, a dropped backend session loses its
// queue). With the backend's signing key a PUBACK only moves a read to
// "awaiting backend" in the outbox; the acks subscription (made again on
// every connection, the session being clean) delivers the backend's signed
// acks to Run, which verifies them (acks.go) and removes what they name. A
// read not confirmed within ConfirmTimeout is published again; acks sent
// while the device was offline are lost with the clean session, which only
// makes the device republish and the backend ack the duplicate.
//
// # Goroutines
//
// Run owns the connection, the publish loop, the outbox expiry and the
// health ticker; it is the only goroutine that publishes. Submit may be
// called from any goroutine: it seals and stores under a lock (so sequence
// numbers reach the disk in order) and wakes Run.
package uplink

// Package receiver is the backend's side of the envelope: it verifies,
// opens and deduplicates the reads that devices publish, and counts every
// rejection by its reason. lprctl listen is a thin MQTT wrapper around it.
//
// The checks, in order, and the reason a failing envelope is counted under:
//
//	malformed        the bytes are not an envelope of a supported suite
//	unknown-device   no public key for the device id, or not the key it names
//	tampered         the Ed25519 signature fails, or the HPKE open fails
//	topic-mismatch   (AcceptTopic) received on the topic of another device,
//	                 or its event names another site than the topic
//	out-of-window    sealed before now-MaxAge or after now+MaxSkew
//	replayed         sequence number below the device's replay window
//	duplicate        sequence number or event id already accepted (a QoS 1
//	                 redelivery or a resend after a device restart)
//	wrong-recipient  sealed to a backend key this receiver does not hold
//	invalid-event    opened, but the event is not valid or names another device
//
// Sequence numbers are tracked per device in a sliding window of
// ReplayWindow numbers below the highest accepted one, so reads that arrive
// out of order are still accepted once. A jump forward is reported as a gap
// (Read.Missing); a jump of more than MaxGap is reported as a counter reset
// (the device lost its state folder), not as missing reads.
//
// The state is in memory; SaveState and LoadState keep it across restarts
// (lprctl listen keeps it in a file by default). Without a saved state,
// MaxAge bounds how far back a replay can reach after a restart.
//
// Listen is the MQTT side: it subscribes with a persistent session,
// resubscribes after every reconnection (paho's back-off capped by
// mqttclient.Config.MaxReconnectInterval), feeds each message to
// AcceptTopic and acknowledges it once the caller has written the read.
// With ListenOptions.Acks.Key (the backend's signing key) it also tells each
// device, on <prefix>/<site>/<device>/acks, which reads the backend holds
// (every read OnRead took, and every duplicate), and refuses reads sealed to
// a key it does not hold (acks.go, docs/acks.md).
package receiver

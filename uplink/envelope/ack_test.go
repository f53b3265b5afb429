package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ackVectors are the test vectors of docs/acks.md: an ack and a refusal for
// device lane3-cam1, signed with the backend signing key of seed 0x09...
// (Ed25519 is deterministic, so the bytes are fixed).
func ackVectors(t testing.TB) (seed []byte, key ed25519.PrivateKey, msgs []Ack) {
	seed = bytes.Repeat([]byte{0x09}, ed25519.SeedSize)
	key = ed25519.NewKeyFromSeed(seed)
	topic := "lpr/port-a/lane3-cam1/acks"
	at := time.Date(2026, 12, 2, 14, 0, 1, 500000000, time.UTC)
	return seed, key, []Ack{
		{Kind: KindAck, DeviceID: "lane3-cam1", Topic: topic, Time: at, Seqs: Ranges([]uint64{1001, 1002, 1003, 1005})},
		{Kind: KindRefusal, DeviceID: "lane3-cam1", Topic: topic, Time: at, Seqs: []SeqRange{{1006, 1006}},
			Reason: "wrong-recipient", SealedTo: "0011223344556677"},
	}
}

func TestAckVectors(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "acks.md"))
	if err != nil {
		t.Fatal(err)
	}
	seed, key, msgs := ackVectors(t)
	pub := key.Public().(ed25519.PublicKey)
	for _, a := range msgs {
		msg, err := SignAck(key, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifyAck(msg, a.Topic, a.DeviceID, []ed25519.PublicKey{pub})
		if err != nil || got.Kind != a.Kind || !reflect.DeepEqual(got.Seqs, a.Seqs) || !got.Time.Equal(a.Time) || got.SealedTo != a.SealedTo {
			t.Fatalf("VerifyAck(%s) = %+v, %v", msg, got, err)
		}
		i := bytes.LastIndex(msg, []byte(`,"sig":"`))
		unsigned := string(msg[:i]) + "}"
		ctx, _ := ackContext(a.Kind)
		if !ed25519.Verify(pub, []byte(ctx+"\x00"+unsigned), got.Signature) {
			t.Errorf("signature is not Ed25519 over %q NUL %s", ctx, unsigned)
		}
		sig := base64.StdEncoding.EncodeToString(got.Signature)
		for _, want := range []string{hex.EncodeToString(seed), hex.EncodeToString(pub), SigningKeyID(pub).String(), string(msg), unsigned, sig} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("docs/acks.md lacks %q; the vector is:\nseed %x\npublic %x\nkey id %v\nunsigned %s\nsig %s\nmessage %s",
					want, seed, pub, SigningKeyID(pub), unsigned, sig, msg)
			}
		}
	}
}

func TestVerifyAck(t *testing.T) {
	_, key, msgs := ackVectors(t)
	pub := key.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x0a}, ed25519.SeedSize))
	good, _ := SignAck(key, msgs[0])
	refusal, _ := SignAck(key, msgs[1])
	forged, _ := SignAck(other, msgs[0])
	foreign := msgs[0]
	foreign.DeviceID = "lane4-cam1"
	foreignMsg, _ := SignAck(key, foreign)
	tampered := bytes.Replace(good, []byte("1005"), []byte("1009"), 1)
	// A refusal's bytes with its kind changed to "ack": the refusal context
	// does not verify as an ack.
	kindSwap := bytes.Replace(refusal, []byte(`"kind":"refusal"`), []byte(`"kind":"ack"`), 1)
	topic, dev := msgs[0].Topic, msgs[0].DeviceID
	for _, c := range []struct {
		name    string
		payload []byte
		topic   string
		want    error
	}{
		{"good", good, topic, nil},
		{"refusal", refusal, topic, nil},
		{"other key", forged, topic, ErrAckUnsigned},
		{"tampered", tampered, topic, ErrAckUnsigned},
		{"kind swapped", kindSwap, topic, ErrAckUnsigned},
		{"unsigned", []byte(`{"v":1,"kind":"ack","device":"lane3-cam1","seqs":[[1,9]]}`), topic, ErrAckUnsigned},
		{"not json", []byte("ack 1-9"), topic, ErrAckUnsigned},
		{"other device", foreignMsg, topic, ErrAckForeign},
		{"other topic", good, "lpr/port-a/lane4-cam1/acks", ErrAckForeign},
		{"too long", append(good, bytes.Repeat([]byte(" "), MaxAckBytes)...), topic, ErrAckUnsigned},
	} {
		_, err := VerifyAck(c.payload, c.topic, dev, []ed25519.PublicKey{pub})
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestRanges(t *testing.T) {
	for _, c := range []struct {
		in   []uint64
		want []SeqRange
	}{
		{nil, nil},
		{[]uint64{5}, []SeqRange{{5, 5}}},
		{[]uint64{3, 1, 2, 2, 7, 8, 10}, []SeqRange{{1, 3}, {7, 8}, {10, 10}}},
		{[]uint64{^uint64(0), ^uint64(0) - 1}, []SeqRange{{^uint64(0) - 1, ^uint64(0)}}},
	} {
		if got := Ranges(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Ranges(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestSignAckRefusesBadInput(t *testing.T) {
	_, key, msgs := ackVectors(t)
	a := msgs[0]
	a.Kind = "nack"
	if _, err := SignAck(key, a); err == nil {
		t.Error("unknown kind signed")
	}
	a = msgs[0]
	a.Seqs = nil
	if _, err := SignAck(key, a); err == nil {
		t.Error("empty ack signed")
	}
}

// FuzzParseAck: no input makes the parser panic, and whatever verifies with
// the vector key was signed by it (only the genuine vectors do).
func FuzzParseAck(f *testing.F) {
	_, key, msgs := ackVectors(f)
	pub := key.Public().(ed25519.PublicKey)
	var genuine [][]byte
	for _, a := range msgs {
		b, _ := SignAck(key, a)
		genuine = append(genuine, b)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"kind":"ack","seqs":[[2,1]],"sig":"AA=="}`))
	f.Add([]byte(`{"v":1,"kind":"refusal","seqs":[[1,1]],"time":"x","key":"zz","sig":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, _, err := ParseAck(b)
		if err != nil {
			return
		}
		for _, r := range a.Seqs {
			if r.First > r.Last {
				t.Fatalf("range %v accepted", r)
			}
		}
		if _, err := VerifyAck(b, a.Topic, a.DeviceID, []ed25519.PublicKey{pub}); err == nil &&
			!bytes.Equal(b, genuine[0]) && !bytes.Equal(b, genuine[1]) {
			t.Fatalf("a message the key never signed verifies: %q", b)
		}
	})
}

// BenchmarkVerifyAck is the device's cost per ack message received.
func BenchmarkVerifyAck(b *testing.B) {
	_, key, msgs := ackVectors(b)
	pub := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	msg, _ := SignAck(key, msgs[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyAck(msg, msgs[0].Topic, msgs[0].DeviceID, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignAck is the listener's cost per ack message sent.
func BenchmarkSignAck(b *testing.B) {
	_, key, msgs := ackVectors(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignAck(key, msgs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors")

type testKeys struct {
	rcpt   *RecipientPrivateKey
	signer ed25519.PrivateKey
}

func newTestKeys(t testing.TB, kem uint16) testKeys {
	t.Helper()
	r, err := GenerateRecipientKey(kem)
	if err != nil {
		t.Fatal(err)
	}
	s, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{r, s}
}

func TestSealOpenEverySuite(t *testing.T) {
	e := testEvent()
	pt, err := e.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1796005933123).UTC()
	for _, s := range Suites {
		k := newTestKeys(t, s.Suite.KEM)
		sealer, err := NewSealer("lane3-cam1", s.Suite, k.rcpt.Public(), k.signer)
		if err != nil {
			t.Fatalf("%s: NewSealer: %v", s.Name, err)
		}
		env, err := sealer.Seal(42, at, pt)
		if err != nil {
			t.Fatalf("%s: Seal: %v", s.Name, err)
		}
		if bytes.Contains(env, []byte("ABC1234")) {
			t.Errorf("%s: envelope contains the plate in clear", s.Name)
		}
		t.Logf("%s: envelope %d bytes for a %d-byte event (overhead %d)", s.Name, len(env), len(pt), len(env)-len(pt))
		p, err := Parse(env)
		if err != nil {
			t.Fatalf("%s: Parse: %v", s.Name, err)
		}
		if p.Suite != s.Suite || p.Seq != 42 || !p.SealedAt.Equal(at) || p.DeviceID != "lane3-cam1" ||
			p.RecipientKeyID != k.rcpt.ID || p.SigningKeyID != SigningKeyID(k.signer.Public().(ed25519.PublicKey)) {
			t.Errorf("%s: Parse() header = %+v", s.Name, p)
		}
		if err := p.Verify(k.signer.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("%s: Verify: %v", s.Name, err)
		}
		got, err := p.Open(k.rcpt)
		if err != nil {
			t.Fatalf("%s: Open: %v", s.Name, err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("%s: Open() = %s; want %s", s.Name, got, pt)
		}
	}
}

func TestNewSealerRejectsMismatchedSuite(t *testing.T) {
	k := newTestKeys(t, KEMX25519)
	if _, err := NewSealer("dev", SuiteMLKEM768X25519ChaCha20, k.rcpt.Public(), k.signer); err == nil {
		t.Error("NewSealer(ML-KEM suite, X25519 key) = nil error; want a mismatch error")
	}
	if _, err := NewSealer("dev/../x", SuiteX25519ChaCha20, k.rcpt.Public(), k.signer); err == nil {
		t.Error("NewSealer(bad device id) = nil error")
	}
}

func TestTamperedEnvelopes(t *testing.T) {
	k := newTestKeys(t, KEMX25519)
	sealer, _ := NewSealer("dev1", SuiteX25519ChaCha20, k.rcpt.Public(), k.signer)
	env, err := sealer.Seal(7, time.Now(), []byte(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.signer.Public().(ed25519.PublicKey)
	// Flip each byte in turn: every change must be caught by Parse or Verify.
	for i := range env {
		b := bytes.Clone(env)
		b[i] ^= 0x01
		p, err := Parse(b)
		if err != nil {
			continue
		}
		if err := p.Verify(pub); !errors.Is(err, ErrSignature) {
			t.Errorf("byte %d flipped: Verify() error %v; want ErrSignature", i, err)
		}
	}
	// A valid signature by another key is not accepted as this device's.
	other := newTestKeys(t, KEMX25519)
	p, _ := Parse(env)
	if err := p.Verify(other.signer.Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify(other key) error %v; want ErrSignature", err)
	}
	// Sealed to another backend.
	if _, err := p.Open(other.rcpt); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open(other backend key) error %v; want ErrWrongKey", err)
	}
	// Truncations are malformed.
	for _, n := range []int{0, 3, 42, 43, len(env) - 1} {
		if _, err := Parse(env[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(env[:%d]) error %v; want ErrMalformed", n, err)
		}
	}
	if _, err := Parse(append(bytes.Clone(env), 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(env + 1 byte) error %v; want ErrMalformed", err)
	}
}

// A header re-signed by an attacker who owns a device key but not the
// backend key cannot move a ciphertext to another device or sequence
// number: the header is the HPKE info.
func TestHeaderBoundToCiphertext(t *testing.T) {
	k := newTestKeys(t, KEMX25519)
	sealer, _ := NewSealer("dev1", SuiteX25519ChaCha20, k.rcpt.Public(), k.signer)
	env, _ := sealer.Seal(7, time.Now(), []byte(`{"v":1}`))
	p, _ := Parse(env)
	moved := AppendHeader(nil, Header{Suite: p.Suite, RecipientKeyID: p.RecipientKeyID, SigningKeyID: p.SigningKeyID,
		Seq: 8, SealedAt: p.SealedAt, DeviceID: p.DeviceID})
	moved = append(moved, env[p.headerLen:len(env)-SignatureLen]...)
	moved = append(moved, ed25519.Sign(k.signer, moved)...)
	q, err := Parse(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Verify(k.signer.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Open(k.rcpt); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open(moved ciphertext) error %v; want ErrDecrypt", err)
	}
}

func TestKeyPEMRoundTrip(t *testing.T) {
	for _, kem := range []uint16{KEMX25519, KEMMLKEM768X25519} {
		k := newTestKeys(t, kem)
		privPEM, err := k.rcpt.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := ParseRecipientPrivateKeys(privPEM)
		if err != nil || len(keys) != 1 || keys[0].ID != k.rcpt.ID {
			t.Fatalf("ParseRecipientPrivateKeys: %v, %d keys", err, len(keys))
		}
		pub, err := ParseRecipientPublicKey(k.rcpt.Public().MarshalPEM())
		if err != nil || pub.ID != k.rcpt.ID || pub.KEM != kem {
			t.Fatalf("ParseRecipientPublicKey: %v", err)
		}
		sp, _ := MarshalSigningPrivateKey(k.signer)
		s, err := ParseSigningPrivateKey(sp)
		if err != nil || !s.Equal(k.signer) {
			t.Fatalf("ParseSigningPrivateKey: %v", err)
		}
		pp, _ := MarshalSigningPublicKey(k.signer.Public().(ed25519.PublicKey))
		ps, err := ParseSigningPublicKeys(append(pp, pp...))
		if err != nil || len(ps) != 2 || !ps[0].Equal(k.signer.Public()) {
			t.Fatalf("ParseSigningPublicKeys: %v", err)
		}
	}
	if _, err := ParseRecipientPublicKey([]byte("junk")); !errors.Is(err, ErrNoKey) {
		t.Errorf("ParseRecipientPublicKey(junk) error %v; want ErrNoKey", err)
	}
}

func TestLoadSigningKeyRefusesOpenMode(t *testing.T) {
	k := newTestKeys(t, KEMX25519)
	b, _ := MarshalSigningPrivateKey(k.signer)
	p := filepath.Join(t.TempDir(), "device.key")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigningPrivateKey(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadSigningPrivateKey(0644 file) error %v; want a chmod hint", err)
	}
	os.Chmod(p, 0o600)
	if _, err := LoadSigningPrivateKey(p); err != nil {
		t.Errorf("LoadSigningPrivateKey(0600 file) error %v", err)
	}
}

// vector is one test vector of docs/envelope.md, stored as JSON in
// testdata/vectors/<suite>.json.
type vector struct {
	Suite            string `json:"suite"`
	RecipientIKM     string `json:"recipient_ikm_hex"`     // RFC 9180 DeriveKeyPair input
	RecipientPrivate string `json:"recipient_private_hex"` // SerializePrivateKey
	RecipientPublic  string `json:"recipient_public_hex"`  // SerializePublicKey
	RecipientKeyID   string `json:"recipient_key_id_hex"`
	SigningSeed      string `json:"signing_seed_hex"` // Ed25519 seed (RFC 8032 private key)
	SigningPublic    string `json:"signing_public_hex"`
	SigningKeyID     string `json:"signing_key_id_hex"`
	DeviceID         string `json:"device_id"`
	Seq              uint64 `json:"seq"`
	SealedAtMs       int64  `json:"sealed_at_unix_ms"`
	Info             string `json:"info_hex"`
	Plaintext        string `json:"plaintext"`
	Envelope         string `json:"envelope_hex"`
}

func makeVector(t *testing.T, name string, s Suite) vector {
	ikm := bytes.Repeat([]byte{0x42}, 32)
	kem, _ := newKEM(s.KEM)
	hp, err := kem.DeriveKeyPair(ikm)
	if err != nil {
		t.Fatal(err)
	}
	privBytes, _ := hp.Bytes()
	rcpt, err := NewRecipientPrivateKey(s.KEM, privBytes)
	if err != nil {
		t.Fatal(err)
	}
	seed := bytes.Repeat([]byte{0x07}, ed25519.SeedSize)
	signer := ed25519.NewKeyFromSeed(seed)
	e := testEvent()
	pt, _ := e.MarshalCanonical()
	sealer, err := NewSealer(e.DeviceID, s, rcpt.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1796005933123)
	env, err := sealer.Seal(1001, at, pt)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Parse(env)
	return vector{
		Suite: name, RecipientIKM: hex.EncodeToString(ikm),
		RecipientPrivate: hex.EncodeToString(privBytes), RecipientPublic: hex.EncodeToString(rcpt.Public().Bytes()),
		RecipientKeyID: rcpt.ID.String(), SigningSeed: hex.EncodeToString(seed),
		SigningPublic: hex.EncodeToString(signer.Public().(ed25519.PublicKey)), SigningKeyID: sealer.SigningKeyID().String(),
		DeviceID: e.DeviceID, Seq: 1001, SealedAtMs: at.UnixMilli(), Info: hex.EncodeToString(p.Info()),
		Plaintext: string(pt), Envelope: hex.EncodeToString(env),
	}
}

// TestVectors opens the committed test vectors, so that the format cannot
// change without the documentation noticing. Run with -update to rewrite
// them (deterministically, from a fixed random seed).
func TestVectors(t *testing.T) {
	for _, s := range Suites {
		path := filepath.Join("testdata", "vectors", s.Name+".json")
		if *update {
			cryptotest.SetGlobalRandom(t, 1)
			v := makeVector(t, s.Name, s.Suite)
			b, _ := json.MarshalIndent(v, "", "  ")
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestVectors -update)", err)
		}
		var v vector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		checkVector(t, path, s.Suite, v)
	}
}

func checkVector(t *testing.T, path string, s Suite, v vector) {
	unhex := func(h string) []byte {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return b
	}
	kem, _ := newKEM(s.KEM)
	derived, err := kem.DeriveKeyPair(unhex(v.RecipientIKM))
	if err != nil {
		t.Fatal(err)
	}
	if db, _ := derived.Bytes(); hex.EncodeToString(db) != v.RecipientPrivate {
		t.Errorf("%s: DeriveKeyPair(ikm) private key = %x; want %s", path, db, v.RecipientPrivate)
	}
	rcpt, err := NewRecipientPrivateKey(s.KEM, unhex(v.RecipientPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(rcpt.Public().Bytes()); got != v.RecipientPublic {
		t.Errorf("%s: public key = %s; want %s", path, got, v.RecipientPublic)
	}
	if rcpt.ID.String() != v.RecipientKeyID {
		t.Errorf("%s: recipient key id = %v; want %s", path, rcpt.ID, v.RecipientKeyID)
	}
	signer := ed25519.NewKeyFromSeed(unhex(v.SigningSeed))
	pub := signer.Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != v.SigningPublic || SigningKeyID(pub).String() != v.SigningKeyID {
		t.Errorf("%s: signing key or id mismatch", path)
	}
	p, err := Parse(unhex(v.Envelope))
	if err != nil {
		t.Fatalf("%s: Parse: %v", path, err)
	}
	if hex.EncodeToString(p.Info()) != v.Info || p.Seq != v.Seq || p.SealedAt.UnixMilli() != v.SealedAtMs || p.DeviceID != v.DeviceID || p.Suite != s {
		t.Errorf("%s: header fields do not match the vector", path)
	}
	if err := p.Verify(pub); err != nil {
		t.Errorf("%s: Verify: %v", path, err)
	}
	pt, err := p.Open(rcpt)
	if err != nil {
		t.Fatalf("%s: Open: %v", path, err)
	}
	if string(pt) != v.Plaintext {
		t.Errorf("%s: Open() = %s; want %s", path, pt, v.Plaintext)
	}
}

func FuzzParseOpen(f *testing.F) {
	k := newTestKeys(f, KEMX25519)
	sealer, _ := NewSealer("dev1", SuiteX25519ChaCha20, k.rcpt.Public(), k.signer)
	e := testEvent()
	pt, _ := e.MarshalCanonical()
	env, _ := sealer.Seal(1, time.Now(), pt)
	f.Add(env)
	f.Add([]byte(Magic))
	f.Add(env[:50])
	pub := k.signer.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if len(p.Info())+4+len(p.Sealed)+len(p.Signature) != len(b) {
			t.Fatalf("Parse split %d bytes into %d+4+%d+%d", len(b), len(p.Info()), len(p.Sealed), len(p.Signature))
		}
		verr := p.Verify(pub)
		pt, oerr := p.Open(k.rcpt)
		if verr == nil && !bytes.Equal(b, env) {
			t.Fatalf("Verify accepted a changed envelope")
		}
		if oerr == nil {
			if _, err := ParseEvent(pt); err != nil && bytes.Equal(b, env) {
				t.Fatalf("ParseEvent of the original: %v", err)
			}
		}
	})
}

func BenchmarkSealSign(b *testing.B) {
	e := testEvent()
	pt, _ := e.MarshalCanonical()
	for _, s := range Suites {
		b.Run(s.Name, func(b *testing.B) {
			k := newTestKeys(b, s.Suite.KEM)
			sealer, _ := NewSealer("lane3-cam1", s.Suite, k.rcpt.Public(), k.signer)
			var n int
			for i := 0; b.Loop(); i++ {
				env, err := sealer.Seal(uint64(i), time.Now(), pt)
				if err != nil {
					b.Fatal(err)
				}
				n = len(env)
			}
			b.ReportMetric(float64(n), "envelope-bytes")
		})
	}
}

// TestDocMatchesVectors keeps docs/envelope.md in step with the vectors.
func TestDocMatchesVectors(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "envelope.md"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", "x25519-chacha20poly1305.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	json.Unmarshal(b, &v)
	for _, want := range []string{v.RecipientPrivate, v.SigningPublic, v.Plaintext, v.Envelope[len(v.Envelope)-64:]} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/envelope.md lacks %q from the x25519-chacha20poly1305 vector", want)
		}
	}
}

package hotlist

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fast parameters keep the tests quick; the cost of the real ones is BenchmarkHash's.
var fast = Params{Time: 1, Memory: 64, Threads: 1}

func testKeys(t testing.TB) (*SiteKey, ed25519.PrivateKey) {
	t.Helper()
	var k SiteKey
	for i := range k {
		k[i] = byte(i)
	}
	return &k, ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
}

func build(t testing.TB, key *SiteKey, signer ed25519.PrivateKey, version uint64, plates ...string) []byte {
	t.Helper()
	l, err := Build(key, "port-a", version, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fast, plates)
	if err != nil {
		t.Fatal(err)
	}
	return l.Marshal(signer)
}

func newStore(t *testing.T, key *SiteKey, signer ed25519.PrivateKey) *Store {
	return NewStore(key, "port-a", []ed25519.PublicKey{signer.Public().(ed25519.PublicKey)}, filepath.Join(t.TempDir(), "hotlist"), 0)
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"abc 123": "A8C123", "B0I-1O8": "801108", "8O1": "801", "QDZSG": "00256", "": "", "--": "", "é7": "7",
	} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoundTripAndMatch(t *testing.T) {
	key, signer := testKeys(t)
	data := build(t, key, signer, 7, "7ABC123", "B0I 42", "7abc123")
	if strings.Contains(string(data), "ABC") || strings.Contains(string(data), "7ABC123") {
		t.Fatal("list file holds plate text")
	}
	s := newStore(t, key, signer)
	l, err := s.Apply(data)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 7 || l.Len() != 2 || l.Site != "port-a" || l.Params != fast {
		t.Fatalf("list %+v", l)
	}
	tests := []struct {
		cands []string
		hit   int
	}{
		{[]string{"7ABC123"}, 0},
		{[]string{"7A8C123"}, 0},                     // B read as 8
		{[]string{"XYZ", "8OI42"}, 1},                // O/0, I/1, 8/B in the second candidate
		{[]string{"80142"}, 0},                       // all digits
		{[]string{"ZZZ", "YYY", "XXX", "B0I42"}, -1}, // beyond k = 3
		{[]string{"7ABC124"}, -1},
		{nil, -1},
	}
	for _, tt := range tests {
		if m := s.Match(tt.cands); m.Hit != tt.hit {
			t.Errorf("Match(%q).Hit = %d, want %d", tt.cands, m.Hit, tt.hit)
		}
	}
}

func TestApplyRefuses(t *testing.T) {
	key, signer := testKeys(t)
	s := newStore(t, key, signer)
	if _, err := s.Apply(build(t, key, signer, 5, "7ABC123")); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateSiteKey()
	_, wrongSigner, _ := ed25519.GenerateKey(nil)
	tampered := build(t, key, signer, 6, "9XYZ999")
	tampered[len(tampered)-70] ^= 1 // a digest bit
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"tampered", tampered, ErrSignature},
		{"older", build(t, key, signer, 4, "9XYZ999"), ErrNotNewer},
		{"same version", build(t, key, signer, 5, "9XYZ999"), ErrCurrent},
		{"other signer", build(t, key, wrongSigner, 9, "9XYZ999"), ErrSignature},
		{"other site key", build(t, other, signer, 9, "9XYZ999"), nil},
		{"truncated", tampered[:40], ErrFormat},
	}
	for _, c := range cases {
		_, err := s.Apply(c.data)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if strings.Contains(err.Error(), "9XYZ999") {
			t.Errorf("%s: error names the plate", c.name)
		}
	}
	if v := s.List().Version; v != 5 || s.Match([]string{"7ABC123"}).Hit != 0 || s.Match([]string{"9XYZ999"}).Hit != -1 {
		t.Fatalf("the old list did not stay: version %d", v)
	}
	if s.Refused() != 5 || s.Updates() != 1 {
		t.Fatalf("refused %d updates %d, want 5 and 1 (the same version again is not counted)", s.Refused(), s.Updates())
	}
	// The state copy is the applied list; a new store loads it.
	s2 := newStore(t, key, signer)
	if err := s2.Load(s.path); err != nil || s2.List().Version != 5 {
		t.Fatalf("reload: %v", err)
	}
}

func TestGateModes(t *testing.T) {
	key, signer := testKeys(t)
	s := newStore(t, key, signer)
	if _, err := s.Apply(build(t, key, signer, 1, "7ABC123")); err != nil {
		t.Fatal(err)
	}
	hit := []string{"7A8C123", "7ABC128"} // the hit read with B as 8
	miss := []string{"5XYZ987", "5XYZ981"}
	for _, mode := range []Mode{All, Hits, Hashed} {
		g, err := NewGate(mode, s)
		if err != nil {
			t.Fatal(err)
		}
		d := g.Decide(hit[0], hit)
		if !d.Send || d.Plate != hit[0] || len(d.Candidates) != 2 || d.Hit != (mode != All) {
			t.Errorf("%s: hit decided %+v", mode, d)
		}
		d = g.Decide(miss[0], miss)
		switch mode {
		case All:
			if !d.Send || d.Plate != miss[0] {
				t.Errorf("all: miss decided %+v", d)
			}
		case Hits:
			if d.Send || d.Plate != "" || d.Candidates != nil {
				t.Errorf("hits: miss decided %+v", d)
			}
		case Hashed:
			want := Hash(key, "port-a", fast, miss[0]).String()
			if !d.Send || d.Plate != want || len(d.Candidates) != 2 || d.Candidates[0] != want || strings.Contains(d.Candidates[1], "XYZ") {
				t.Errorf("hashed: miss decided %+v, plate want %s", d, want)
			}
		}
		st := g.Stats()
		if st.ReadsSeen != 2 || st.HotlistVersion != 1 || st.HotlistSize != 1 || st.Mode != mode {
			t.Errorf("%s: stats %+v", mode, st)
		}
		if mode == Hits && (st.ReadsDiscarded != 1 || st.ReadsPassed != 1) {
			t.Errorf("hits: stats %+v", st)
		}
	}
	if _, err := NewGate(Hits, nil); err == nil {
		t.Error("mode hits without a store accepted")
	}
}

func TestSiteKeyFile(t *testing.T) {
	k, _ := GenerateSiteKey()
	p := filepath.Join(t.TempDir(), "site.key")
	if err := os.WriteFile(p, k.MarshalPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSiteKey(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("mode 0644 accepted: %v", err)
	}
	os.Chmod(p, 0o600)
	k2, err := LoadSiteKey(p)
	if err != nil || *k2 != *k {
		t.Fatalf("reload: %v", err)
	}
	if _, err := ParseSiteKey([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func FuzzParse(f *testing.F) {
	key, signer := testKeys(f)
	f.Add(build(f, key, signer, 1, "7ABC123", "B0I42"))
	f.Add(build(f, key, signer, 2))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, body, sig, err := Parse(data)
		if err != nil {
			return
		}
		if len(sig) != ed25519.SignatureSize || len(body)+len(sig) != len(data) || l.Params.check() != nil {
			t.Fatalf("parsed inconsistently: %d+%d of %d bytes", len(body), len(sig), len(data))
		}
		// Re-marshalling the parsed list gives the same body.
		if again := l.Marshal(signer); string(again[:len(body)]) != string(body) {
			t.Fatal("re-marshalled body differs")
		}
	})
}

func BenchmarkHash(b *testing.B) {
	key, _ := testKeys(b)
	for b.Loop() {
		Hash(key, "port-a", DefaultParams, "7ABC123")
	}
}

package hotlist

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vector builds the test vector of docs/hotlist.md: site key bytes 0x00..0x1f, backend
// signing key from the all-zero Ed25519 seed, site "port-a", version 7, created
// 2026-12-01T00:00:00Z, Argon2id t=1 m=64 KiB p=1, plates "7ABC123" and "B0I 42".
func vector(t *testing.T) []byte {
	key, signer := testKeys(t)
	l, err := Build(key, "port-a", 7, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), fast, []string{"7ABC123", "B0I 42"})
	if err != nil {
		t.Fatal(err)
	}
	return l.Marshal(signer)
}

// hexLines is data in hex, 32 bytes a line.
func hexLines(data []byte) string {
	var b strings.Builder
	for i := 0; i < len(data); i += 32 {
		b.WriteString(hex.EncodeToString(data[i:min(i+32, len(data))]) + "\n")
	}
	return b.String()
}

// TestVector keeps the file format stable: the bytes of the vector are in docs/hotlist.md
// (after a deliberate change the failure prints the new bytes).
func TestVector(t *testing.T) {
	got := hexLines(vector(t))
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "hotlist.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), got) {
		t.Fatalf("docs/hotlist.md lacks the test vector; it is now:\n%s", got)
	}
	key, _ := testKeys(t)
	for _, plate := range []string{"7ABC123", "B0I 42"} {
		line := "`" + plate + "` -> `" + Canonical(plate) + "` -> `" + hex.EncodeToString(func() []byte { d := Hash(key, "port-a", fast, plate); return d[:] }()) + "`"
		if !strings.Contains(string(doc), line) {
			t.Errorf("docs/hotlist.md lacks the line %s", line)
		}
	}
	if id := key.ID(); !strings.Contains(string(doc), hex.EncodeToString(id[:])) {
		t.Errorf("docs/hotlist.md lacks the site key id %x", id)
	}
}

package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestMjpegFrames(t *testing.T) {
	a := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9}
	b := []byte{0xFF, 0xD8, 0xFF, 0xDB, 4, 0xFF, 0x00, 5, 0xFF, 0xD9}
	var avi []byte
	avi = append(avi, "RIFF....AVI LIST00dc"...)
	avi = append(avi, a...)
	avi = append(avi, "00dc...."...)
	avi = append(avi, b...)
	avi = append(avi, 0xFF, 0xD8, 0xFF, 0xE0, 9) // cut: no end of image
	got := mjpegFrames(avi)
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("mjpegFrames = %x; want [%x %x]", got, a, b)
	}
}

func TestEnvTextSetsOneKey(t *testing.T) {
	base := t.TempDir() + "/base.env"
	if err := writeEnvFile(base, map[string]string{"LPRD_SITE": "prove", "LPRD_LANE": "1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, value, want string }{
		{"LPRD_SITE", "other", "LPRD_LANE=1\nLPRD_SITE=other\n"},
		{"LPRD_NEW", "x", "LPRD_LANE=1\nLPRD_SITE=prove\nLPRD_NEW=x\n"},
		{"", "", "LPRD_LANE=1\nLPRD_SITE=prove\n"},
	} {
		if got := string(envText(base, c.key, c.value)); got != c.want {
			t.Errorf("envText(%s=%s) = %q; want %q", c.key, c.value, got, c.want)
		}
	}
}

func TestRejectionReason(t *testing.T) {
	for line, want := range map[string]string{
		"lprctl: lpr/prove/d/reads: rejected (topic-mismatch) device d seq 3: envelope of device d on topic": "topic-mismatch",
		"lprctl: lpr/prove/d/reads: rejected (malformed): malformed envelope: 12 bytes":                      "malformed",
		"lprctl: subscribed to lpr/+/+/reads":                                                                "",
	} {
		got := ""
		if m := rejectionRE.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("reason of %q = %q; want %q", line, got, want)
		}
	}
}

// TestHoleProxyForwardsAndFreezes: bytes pass both ways; after hole() a new
// connection is accepted but gets nothing and is not closed; after mend()
// a new connection passes again.
func TestHoleProxyForwardsAndFreezes(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c)
		}
	}()
	px, err := newHoleProxy(echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer px.close()
	roundTrip := func(c net.Conn, msg string) string {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, len(msg))
		n, _ := io.ReadFull(c, buf)
		return string(buf[:n])
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", px.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := dial()
	defer c1.Close()
	if got := roundTrip(c1, "hello"); got != "hello" {
		t.Fatalf("through the proxy: %q", got)
	}
	px.hole()
	c1.Write([]byte("lost"))
	px.mend()
	c2 := dial()
	defer c2.Close()
	if got := roundTrip(c2, "again"); got != "again" {
		t.Fatalf("after mend: %q", got)
	}
	if !strings.Contains(frozenState(px, c1), "frozen") {
		t.Error("the connection open during the hole is not frozen")
	}
}

// frozenState says whether the proxy holds c's peer as frozen.
func frozenState(px *holeProxy, c net.Conn) string {
	px.mu.Lock()
	defer px.mu.Unlock()
	for k, v := range px.frozen {
		if v && k.RemoteAddr().String() == c.LocalAddr().String() {
			return "frozen"
		}
	}
	return "open"
}

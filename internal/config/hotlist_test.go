package config

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/hotlist"
)

// hotlistFiles writes a site key (mode 0600) and a hotlist of version 3 for site port-a
// signed by signer; it returns their paths.
func hotlistFiles(t *testing.T, d *deployment, signer ed25519.PrivateKey) (key, list string) {
	t.Helper()
	k, err := hotlist.GenerateSiteKey()
	if err != nil {
		t.Fatal(err)
	}
	key = d.writeEnv(t, "site.key", string(k.MarshalPEM()), 0o600)
	l, err := hotlist.Build(k, "port-a", 3, time.Now(), hotlist.Params{Time: 1, Memory: 64, Threads: 1}, []string{"7ABC123"})
	if err != nil {
		t.Fatal(err)
	}
	return key, d.writeEnv(t, "hotlist.bin", string(l.Marshal(signer)), 0o644)
}

func TestHotlistKeys(t *testing.T) {
	d := newDeployment(t)
	signer, err := envelope.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := envelope.MarshalSigningPublicKey(signer.Public().(ed25519.PublicKey))
	verify := d.writeEnv(t, "backend-signing.pub", string(pubPEM), 0o644)
	key, list := hotlistFiles(t, d, signer)
	ok := []string{"LPRD_SEND_MODE=hits", "LPRD_HOTLIST_KEY=" + key, "LPRD_BACKEND_VERIFY_KEY=" + verify, "LPRD_HOTLIST=" + list}

	cfg, problems := Load(d.writeEnv(t, "ok.env", d.env(ok...), 0o640), nil)
	if len(problems) > 0 {
		t.Fatalf("refused: %v", problems)
	}
	g, err := cfg.OpenHotlist()
	if err != nil || g.Stats().HotlistVersion != 3 || g.Stats().Mode != hotlist.Hits {
		t.Fatalf("OpenHotlist: %v", err)
	}

	for _, tc := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"hits without keys", []string{"LPRD_SEND_MODE=hits"}, []string{"LPRD_HOTLIST_KEY", "LPRD_BACKEND_VERIFY_KEY", "required with LPRD_SEND_MODE=hits"}},
		{"open site key", append(ok, "LPRD_HOTLIST_KEY="+d.copyMode(t, key, 0o644)), []string{"LPRD_HOTLIST_KEY", "chmod 600"}},
		{"list of another signer", append(ok, "LPRD_BACKEND_VERIFY_KEY="+d.signingPub), []string{"LPRD_HOTLIST", "signature does not verify"}},
		{"not a list", append(ok, "LPRD_HOTLIST="+verify), []string{"LPRD_HOTLIST", "not a hotlist file"}},
		{"bad mode", []string{"LPRD_SEND_MODE=some"}, []string{"LPRD_SEND_MODE"}},
		{"text kept too long", []string{"LPRD_FUSION_RETAIN=3m", "LPRD_FUSION_MAX_DELAY=3s"}, []string{"LPRD_FUSION_RETAIN", "must not exceed 3m0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := append(tc.extra, "LPRD_STATE_DIR="+filepath.Join(t.TempDir(), "state"))
			_, problems := Load(d.writeEnv(t, "bad.env", d.env(extra...), 0o640), nil)
			msg := problems.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("problems %q lack %q", msg, w)
				}
			}
		})
	}
	os.Remove(list)
}

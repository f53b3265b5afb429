package deploy

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// installRoot makes an empty target tree with the account files deploy/install
// edits (useradd --root), as on a fresh Debian 12 system.
func installRoot(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("deploy/install runs as root on Linux (it chowns and adds a user); CI runs it as root")
	}
	for _, tool := range []string{"bash", "useradd", "groupadd", "install"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	r := t.TempDir()
	for name, text := range map[string]string{
		"etc/passwd":       "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":        "root:x:0:\nvideo:x:44:\n",
		"etc/shadow":       "root:*:19000:0:99999:7:::\n",
		"etc/gshadow":      "root:*::\nvideo:!::\n",
		"usr/sbin/nologin": "#!/bin/sh\nexit 1\n",
	} {
		p := filepath.Join(r, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(r, "usr/sbin/nologin"), 0o755)
	return r
}

// lprdBinary returns ../bin/lprd when it is built, or a stand-in.
func lprdBinary(t *testing.T) (path string, real bool) {
	if _, err := os.Stat("../bin/lprd"); err == nil {
		p, _ := filepath.Abs("../bin/lprd")
		return p, true
	}
	p := filepath.Join(t.TempDir(), "lprd")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho lprd stand-in\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p, false
}

func install(t *testing.T, root, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("./install", append([]string{"--root", root, "--binary", bin, "--no-packages"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// snapshot lists every path under root with its type, mode, owner and content
// hash (or link target): what "the same state" means.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		lines = append(lines, fmt.Sprintf("%s %v %d:%d %s", rel, fi.Mode(), st.Uid, st.Gid, what))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func diffLines(a, b []string) string {
	var d []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			d = append(d, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			d = append(d, "+ "+l)
		}
	}
	return strings.Join(d, "\n")
}

func lprdGID(t *testing.T, root string) uint32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); len(f) > 2 && f[0] == "lprd" {
			var gid uint32
			fmt.Sscan(f[2], &gid)
			return gid
		}
	}
	t.Fatalf("no lprd group in %s/etc/group", root)
	return 0
}

// TestInstallTwice installs into a temporary root twice and wants the same
// tree, the env file 0640 root:lprd and kept, the daemon only, and a clean
// uninstall.
func TestInstallTwice(t *testing.T) {
	root := installRoot(t)
	bin, _ := lprdBinary(t)
	if out, err := install(t, root, bin, "--enable"); err != nil {
		t.Fatalf("install --root %s: %v\n%s", root, err, out)
	}
	first := snapshot(t, root)
	if out, err := install(t, root, bin, "--enable"); err != nil {
		t.Fatalf("install --root %s (again): %v\n%s", root, err, out)
	}
	if d := diffLines(first, snapshot(t, root)); d != "" {
		t.Errorf("install run twice: the trees differ:\n%s", d)
	}

	env := filepath.Join(root, "etc/lprd/lprd.env")
	fi, err := os.Stat(env)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o640 || st.Uid != 0 || st.Gid != lprdGID(t, root) {
		t.Errorf("/etc/lprd/lprd.env: mode %v owner %d:%d; want 0640 root:lprd", fi.Mode().Perm(), st.Uid, st.Gid)
	}
	edited := []byte("# edited on the device\n")
	if err := os.WriteFile(env, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	if out, err := install(t, root, bin); err != nil {
		t.Fatalf("install over an edited env file: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(env); string(b) != string(edited) {
		t.Errorf("install overwrote /etc/lprd/lprd.env: %q", b)
	}
	for _, p := range []string{"usr/local/bin/lprctl", "usr/local/bin/lprlab"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("install put %s on the gateway; only lprd belongs there", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/lprd.service")); err != nil {
		t.Errorf("install --enable: %v", err)
	}

	if out, err := install(t, root, bin, "--uninstall"); err != nil {
		t.Fatalf("install --uninstall: %v\n%s", err, out)
	}
	for _, p := range []string{"usr/local/bin/lprd", "etc/systemd/system/lprd.service", "etc/systemd/system/lprd.service.d",
		"etc/systemd/system/multi-user.target.wants/lprd.service", "usr/local/lib/lprd"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("install --uninstall left %s", p)
		}
	}
	if _, err := os.Stat(env); err != nil {
		t.Errorf("install --uninstall removed the configuration: %v", err)
	}
	if out, err := install(t, root, bin, "--uninstall", "--purge"); err != nil {
		t.Fatalf("install --uninstall --purge: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/lprd")); err == nil {
		t.Errorf("install --uninstall --purge left /etc/lprd")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); strings.Contains(string(b), "lprd:") {
		t.Errorf("install --uninstall --purge left the lprd user")
	}
}

// TestInstallKeys makes test keys with lprctl keygen, passes `lprd check`
// against the installed env file, and wants a key readable by others refused
// by install and by the unit's keycheck, naming the file and its mode.
func TestInstallKeys(t *testing.T) {
	root := installRoot(t)
	bin, real := lprdBinary(t)
	if out, err := install(t, root, bin); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	etc := filepath.Join(root, "etc/lprd")
	backend, device := filepath.Join(etc, "backend.pub"), filepath.Join(etc, "lane3-cam1.key")
	_, errCtl := os.Stat("../bin/lprctl")
	if real && errCtl == nil {
		for _, args := range [][]string{{"keygen", "-backend", "-out", etc}, {"keygen", "-device", "lane3-cam1", "-out", etc}} {
			if out, err := exec.Command("../bin/lprctl", args...).CombinedOutput(); err != nil {
				t.Fatalf("lprctl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		os.Remove(filepath.Join(etc, "backend.key")) // never on a device
	} else {
		os.WriteFile(backend, []byte("stand-in\n"), 0o644)
		os.WriteFile(device, []byte("stand-in\n"), 0o600)
	}
	// The installed file, with paths that hold outside the temporary root.
	env := filepath.Join(etc, "lprd.env")
	b, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"\nLPRD_DEVICE_ID=\n", "\nLPRD_DEVICE_ID=lane3-cam1\n",
		"\nLPRD_SITE=\n", "\nLPRD_SITE=port-a\n",
		"\nLPRD_MQTT_BROKER=\n", "\nLPRD_MQTT_BROKER=tcp://192.0.2.10:1883\n",
		"\n#LPRD_MQTT_ALLOW_PLAINTEXT=false\n", "\nLPRD_MQTT_ALLOW_PLAINTEXT=true\n",
		"\nLPRD_BACKEND_KEY=\n", "\nLPRD_BACKEND_KEY="+backend+"\n",
		"\nLPRD_SIGNING_KEY=\n", "\nLPRD_SIGNING_KEY="+device+"\n",
	).Replace(string(b))
	if err := os.WriteFile(env, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	if real && errCtl == nil {
		if out, err := exec.Command(bin, "check", env).CombinedOutput(); err != nil {
			t.Errorf("lprd check %s: %v\n%s", env, err, out)
		}
	} else {
		t.Log("bin/lprd or bin/lprctl not built: lprd check not run")
	}
	// The broker's IP address reaches the drop-in.
	dropin := "/etc/systemd/system/lprd.service.d/network.conf"
	if out, err := exec.Command("./network-dropin", "--root", root, "/etc/lprd/lprd.env", dropin).CombinedOutput(); err != nil {
		t.Fatalf("network-dropin: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, dropin)); !strings.Contains(string(b), "\nIPAddressAllow=192.0.2.10\n") {
		t.Errorf("%s does not allow the broker 192.0.2.10:\n%s", dropin, b)
	}

	if err := os.Chmod(device, 0o644); err != nil {
		t.Fatal(err)
	}
	kc, err := exec.Command("./keycheck", env).CombinedOutput()
	if err == nil || !strings.Contains(string(kc), device) || !strings.Contains(string(kc), "mode 0644") {
		t.Errorf("keycheck %s with a world-readable key: err %v; want a refusal naming the key and mode 0644:\n%s", env, err, kc)
	}
	// install reads the file as the device will: paths inside the root.
	if err := os.WriteFile(env, []byte(strings.ReplaceAll(text, root, "")), 0o640); err != nil {
		t.Fatal(err)
	}
	out, err := install(t, root, bin)
	if want := "/etc/lprd/lane3-cam1.key"; err == nil || !strings.Contains(out, want) || !strings.Contains(out, "mode 0644") {
		t.Errorf("install with a world-readable key: err %v; want a refusal naming %s and mode 0644:\n%s", err, want, out)
	}
	env = strings.TrimPrefix(env, root)
	kc, err = exec.Command("./keycheck", "--root", root, env).CombinedOutput()
	if err == nil || !strings.Contains(string(kc), "/etc/lprd/lane3-cam1.key") {
		t.Errorf("keycheck --root %s %s with a world-readable key: err %v; want a refusal:\n%s", root, env, err, kc)
	}
	os.Chmod(device, 0o600)
	if kc, err := exec.Command("./keycheck", "--root", root, env).CombinedOutput(); err != nil {
		t.Errorf("keycheck --root %s %s with a 0600 key: %v\n%s", root, env, err, kc)
	}
}

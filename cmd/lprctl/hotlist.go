package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/hotlist"
	"github.com/lprd/lprd/uplink/mqttclient"
)

// hotlistMain makes a site key, builds a signed hotlist from a list of plates, or pushes
// one to devices over their command topic (docs/hotlist.md).
func hotlistMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: lprctl hotlist key|build|push [flags]   (lprctl hotlist <sub> -h lists the flags)")
		return 2
	}
	sub := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"key": hotlistKey, "build": hotlistBuild, "push": hotlistPush,
	}[args[0]]
	if sub == nil {
		fmt.Fprintf(stderr, "lprctl hotlist: unknown subcommand %q; want key, build or push\n", args[0])
		return 2
	}
	return sub(ctx, args[1:], stdout, stderr)
}

func hotlistKey(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hotlist key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "hotlist-site.key", "file to write the site key to (mode 0600; to the backend and to every device of the site)")
	force := fs.Bool("force", false, "overwrite an existing file")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	k, err := hotlist.GenerateSiteKey()
	if err == nil {
		err = writeNew(*out, k.MarshalPEM(), 0o600, *force)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lprctl hotlist key: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (site key %x)\n", *out, k.ID())
	return 0
}

func writeNew(path string, data []byte, mode os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, mode)
	}
	return err
}

func hotlistBuild(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hotlist build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	site := fs.String("site", "", "site id (LPRD_SITE of the devices)")
	keyFile := fs.String("site-key", os.Getenv("LPRCTL_HOTLIST_KEY"), "the site key from `lprctl hotlist key` ($LPRCTL_HOTLIST_KEY)")
	signFile := fs.String("backend-signing-key", os.Getenv("LPRCTL_BACKEND_SIGNING_KEY"), "backend-signing.key from `lprctl keygen -backend` ($LPRCTL_BACKEND_SIGNING_KEY)")
	in := fs.String("in", "-", "plates, one per line (# comments and blank lines skipped); - for stdin")
	out := fs.String("out", "hotlist.bin", "signed hotlist file to write")
	version := fs.Uint64("version", uint64(time.Now().Unix()), "list version; devices refuse a version not above theirs (default: now in Unix seconds)")
	p := hotlist.DefaultParams
	fs.Func("time", fmt.Sprintf("Argon2id passes (default %d)", p.Time), uintFlag(&p.Time))
	fs.Func("memory", fmt.Sprintf("Argon2id memory in KiB (default %d)", p.Memory), uintFlag(&p.Memory))
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	data, n, err := buildList(*site, *keyFile, *signFile, *in, *version, p)
	if err == nil {
		err = writeNew(*out, data, 0o644, true)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lprctl hotlist build: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: site %s, version %d, %d entries, %d bytes\n", *out, *site, *version, n, len(data))
	return 0
}

func uintFlag(dst *uint32) func(string) error {
	return func(s string) error {
		var v uint32
		if _, err := fmt.Sscan(s, &v); err != nil {
			return fmt.Errorf("want a number: %w", err)
		}
		*dst = v
		return nil
	}
}

func buildList(site, keyFile, signFile, in string, version uint64, p hotlist.Params) ([]byte, int, error) {
	if site == "" || keyFile == "" || signFile == "" {
		return nil, 0, errors.New("-site, -site-key and -backend-signing-key are required")
	}
	key, err := hotlist.LoadSiteKey(keyFile)
	if err != nil {
		return nil, 0, err
	}
	signer, err := envelope.LoadSigningPrivateKey(signFile)
	if err != nil {
		return nil, 0, err
	}
	plates, err := readPlates(in)
	if err != nil {
		return nil, 0, err
	}
	l, err := hotlist.Build(key, site, version, time.Now(), p, plates)
	if err != nil {
		return nil, 0, err
	}
	return l.Marshal(signer), l.Len(), nil
}

// readPlates reads one plate per line; errors name the line, never its text.
func readPlates(in string) ([]string, error) {
	r := io.Reader(os.Stdin)
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var plates []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if hotlist.Canonical(t) == "" {
			return nil, fmt.Errorf("%s line %d: no letter or digit", in, line)
		}
		plates = append(plates, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	return plates, nil
}

func hotlistPush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hotlist push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var m mqttFlags
	m.register(fs, "lprctl-hotlist-"+hostname())
	in := fs.String("in", "hotlist.bin", "signed hotlist file from `lprctl hotlist build`")
	devices := fs.String("devices", "", "comma-separated device ids of the list's site to send it to")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if err := push(ctx, m, *in, *devices, stdout); err != nil {
		fmt.Fprintf(stderr, "lprctl hotlist push: %v\n", err)
		return 1
	}
	return 0
}

// push publishes the file, retained at QoS 1, on each device's hotlist topic: a device that
// is away gets it when it connects again.
func push(ctx context.Context, m mqttFlags, in, devices string, stdout io.Writer) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	l, _, _, err := hotlist.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if devices == "" {
		return errors.New("-devices is required")
	}
	c, err := mqttclient.New(m.config(true))
	if err != nil {
		return err
	}
	if err := waitToken(ctx, c.Connect()); err != nil {
		return mqttclient.ExplainConnect(m.broker, err)
	}
	defer c.Disconnect(250)
	for _, dev := range strings.Split(devices, ",") {
		topic := m.prefix + "/" + l.Site + "/" + strings.TrimSpace(dev) + "/hotlist"
		if err := waitToken(ctx, c.Publish(topic, 1, true, data)); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		fmt.Fprintf(stdout, "pushed version %d (%d entries) to %s\n", l.Version, l.Len(), topic)
	}
	return nil
}

func waitToken(ctx context.Context, tok mqttclient.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-time.After(30 * time.Second):
		return errors.New("no answer from the broker within 30s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

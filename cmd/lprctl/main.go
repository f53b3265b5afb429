// Command lprctl is the backend's and the installer's tool for lprd:
//
//	lprctl keygen   make the backend's HPKE key pair or a device's Ed25519 key pair
//	lprctl listen   receive, verify, open and deduplicate reads; print JSON lines
//	lprctl status   show each device's retained status and health
//	lprctl version  print the version
//
// Every command first turns core dumps off and makes the process
// non-dumpable (internal/harden): listen holds the backend's private key and
// decrypted reads, keygen the keys it makes.
//
// See `lprctl help` and docs/envelope.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/lprd/lprd/internal/harden"
)

// version is set at build time by scripts/setup (-ldflags -X main.version=...).
var version = "dev"

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"keygen", "keygen -backend [-kem mlkem768x25519|x25519] | -device ID  [-out DIR] [-force]", keygenMain},
	{"listen", "listen -broker URL -backend-key FILE -devices DIR [flags]   print one JSON object per read", listenMain},
	{"status", "status -broker URL [-devices DIR] [flags]   print each device's retained status and health, verified", statusMain},
	{"hotlist", "hotlist key|build|push [flags]   make a site key, build a signed hotlist, push it to devices", hotlistMain},
	{"version", "version   print the version (also lprctl --version)", versionMain},
}

func main() {
	if err := harden.Apply(); err != nil {
		fmt.Fprintf(os.Stderr, "lprctl: %v\n", err)
		os.Exit(1)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		help(stdout)
		return 0
	}
	if args[0] == "-version" || args[0] == "--version" {
		return versionMain(ctx, args[1:], stdout, stderr)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "lprctl: unknown command %q\n\n", args[0])
	help(stderr)
	return 2
}

func help(w io.Writer) {
	fmt.Fprint(w, `usage: lprctl <command> [flags]   (lprctl <command> -h lists the flags)

commands:
`)
	for _, c := range commands {
		fmt.Fprintln(w, "  "+c.usage)
	}
	fmt.Fprint(w, `
keygen -backend writes backend.key (HPKE private key, 0600; keep it on the backend only)
  and backend.pub (give it to every device as LPRD_BACKEND_KEY). The default KEM is the
  hybrid post-quantum MLKEM768-X25519; -kem x25519 makes smaller envelopes. It also writes
  backend-signing.key (Ed25519, 0600; lprctl listen -backend-signing-key) and
  backend-signing.pub (every device's LPRD_BACKEND_VERIFY_KEY): the acknowledgement keys.
keygen -device ID writes ID.key (Ed25519 signing key, 0600; copy it to the device as
  LPRD_SIGNING_KEY) and ID.pub (put it in the backend's devices folder). The public key
  and its key id are printed.

listen subscribes to <prefix>/+/+/reads (or $share/<group>/... with -share), verifies each
  envelope against the devices folder (<device id>.pub files), opens it with the backend
  key, drops duplicates and writes one JSON object per read to stdout or -out:
    {"received_at":..., "device_id":..., "seq":..., "sealed_at":..., "suite":...,
     "missing_before":N (only after a gap), "event":{...the event...}}
  Rejections (malformed, unknown-device, tampered, topic-mismatch, out-of-window, replayed,
  duplicate, wrong-recipient, invalid-event) and sequence gaps are reported on stderr and counted;
  the counts are printed on exit (SIGINT/SIGTERM) and every -stats interval. An envelope
  must come on its own device's topic (and its event name that site): else topic-mismatch.
  The replay and duplicate memory survives restarts in a state file, by default
  $STATE_DIRECTORY or $XDG_STATE_HOME/lprctl (~/.local/state/lprctl), listen-<client id>.json;
  -state FILE to choose, -state "" to keep none (a warning: replays are accepted again).
  It uses a persistent MQTT session (fixed -client-id) so the broker keeps reads while it
  is away; a read is acknowledged to the broker only after it was written. After a broker
  outage it reconnects with a back-off from 1 s up to -reconnect-max (default 30s) and
  subscribes again on every connection.
  With -backend-signing-key it tells each device, on <prefix>/<site>/<device>/acks, which
  reads it holds (signed, batched: at most -ack-every 1s or -ack-batch 256 reads; also for
  duplicates), and refuses reads sealed to a backend key it does not hold; a device with
  LPRD_BACKEND_VERIFY_KEY keeps each read until then (docs/acks.md).

status subscribes to <prefix>/+/+/status and <prefix>/+/+/health, waits -wait for the
  retained messages and prints one line per device (or JSON with -json). Devices sign
  both; with -devices DIR (their .pub keys) each is shown verified, UNSIGNED or
  BAD SIGNATURE.

hotlist key writes a site key (0600) for the backend and every device of a site;
  hotlist build -site S -site-key F -backend-signing-key F < plates  hashes the plates
  (Argon2id under the site key) into a signed list; hotlist push -devices A,B -in FILE
  publishes it, retained, on <prefix>/<site>/<device>/hotlist (docs/hotlist.md).

MQTT and TLS flags are the same for listen and status; their defaults come from the
environment: LPRCTL_BROKER, LPRCTL_CA, LPRCTL_CERT, LPRCTL_KEY, LPRCTL_ALLOW_PLAINTEXT=true
(listen and status: LPRCTL_DEVICES; listen also: LPRCTL_BACKEND_KEY, LPRCTL_STATE,
LPRCTL_BACKEND_SIGNING_KEY).
Brokers: ssl://host:8883 (mutual TLS with -ca, -cert, -key), tcp:// only with -allow-plaintext.

Exit status: 0 success (also for -h), 1 runtime failure, 2 usage error.
`)
}

func versionMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: lprctl version")
		return 2
	}
	fmt.Fprintf(stdout, "lprctl %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// parseFlags parses a command's flags. It returns -1 when the command should
// go on, else its exit status: 0 for -h (Go's flag.ExitOnError habit), 2 for
// a usage error (the flag package has printed it).
func parseFlags(fs *flag.FlagSet, args []string) int {
	err := fs.Parse(args)
	switch {
	case err == nil:
		if fs.NArg() > 0 {
			fmt.Fprintf(fs.Output(), "lprctl %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
			return 2
		}
		return -1
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		return 2
	}
}

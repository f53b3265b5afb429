// Command lprctl is the backend's and the installer's tool for lprd:
//
//	lprctl keygen   make the backend's HPKE key pair or a device's Ed25519 key pair
//	lprctl listen   receive, verify, open and deduplicate reads; print JSON lines
//	lprctl status   show each device's retained status and health
//
// See `lprctl help` and docs/envelope.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"keygen", "keygen -backend [-kem mlkem768x25519|x25519] | -device ID  [-out DIR] [-force]", keygenMain},
	{"listen", "listen -broker URL -backend-key FILE -devices DIR [flags]   print one JSON object per read", listenMain},
	{"status", "status -broker URL [flags]   print each device's retained status and health", statusMain},
}

func main() {
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
  hybrid post-quantum MLKEM768-X25519; -kem x25519 makes smaller envelopes.
keygen -device ID writes ID.key (Ed25519 signing key, 0600; copy it to the device as
  LPRD_SIGNING_KEY) and ID.pub (put it in the backend's devices folder). The public key
  and its key id are printed.

listen subscribes to <prefix>/+/+/reads (or $share/<group>/... with -share), verifies each
  envelope against the devices folder (<device id>.pub files), opens it with the backend
  key, drops duplicates and writes one JSON object per read to stdout or -out:
    {"received_at":..., "device_id":..., "seq":..., "sealed_at":..., "suite":...,
     "missing_before":N (only after a gap), "event":{...the event...}}
  Rejections (malformed, unknown-device, tampered, out-of-window, replayed, duplicate,
  wrong-recipient, invalid-event) and sequence gaps are reported on stderr and counted;
  the counts are printed on exit (SIGINT/SIGTERM) and every -stats interval. With -state FILE
  the replay and duplicate memory survives restarts of the listener.
  It uses a persistent MQTT session (fixed -client-id) so the broker keeps reads while it
  is away; a read is acknowledged to the broker only after it was written.

status subscribes to <prefix>/+/+/status and <prefix>/+/+/health, waits -wait for the
  retained messages and prints one line per device (or JSON with -json).

MQTT and TLS flags are the same for listen and status; their defaults come from the
environment: LPRCTL_BROKER, LPRCTL_CA, LPRCTL_CERT, LPRCTL_KEY, LPRCTL_ALLOW_PLAINTEXT=true.
Brokers: ssl://host:8883 (mutual TLS with -ca, -cert, -key), tcp:// only with -allow-plaintext.

Exit status: 0 success, 1 runtime failure, 2 usage error.
`)
}

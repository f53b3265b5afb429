// Command lprd is the licence-plate reader daemon of a lane gateway.
//
// It reads frames from a camera, finds and reads plates, fuses the reads of
// one vehicle into one result, seals each result to the backend's public key
// and publishes it over MQTT. No image ever leaves the process's memory.
//
// Subcommands: run (the default), check, version, eval, bench, record. See
// `lprd help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time by scripts/setup (-ldflags -X main.version=...).
var version = "dev"

type command struct {
	name, usage string
	run         func(args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run [-env FILE]         run the daemon (the default); configuration from the environment or FILE", runMain},
		{"check", "check [ENVFILE]         validate a configuration; print every problem; exit 0 only when usable", checkMain},
		{"version", "version                 print the lprd, OpenCV and recognizer model versions", versionMain},
		{"eval", "eval -crops DIR|-dataset DIR -out FILE   read a folder of plate crops or benchmark photos", evalMain},
		{"bench", "bench [flags]           replay frames through the real pipeline as fast as possible and report", benchMain},
		{"record", "record [flags]          maintenance only: record a short clip from a real camera to a file", recordMain},
		{"help", "help                    this text", func([]string) int { printUsage(os.Stdout); return 0 }},
	}
}

func main() {
	name, args := "run", os.Args[1:]
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	for _, c := range commands {
		if c.name == name {
			os.Exit(c.run(args))
		}
	}
	fmt.Fprintf(os.Stderr, "lprd: unknown command %q\n", name)
	printUsage(os.Stderr)
	os.Exit(2)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: lprd <command> [arguments]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintln(w, "  "+c.usage)
	}
	fmt.Fprintln(w, "\nConfiguration keys are documented in deploy/lprd.env.")
}

// signalContext returns a context cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Command lprd is the licence-plate reader daemon of a lane gateway.
//
// It reads frames from a camera, finds and reads plates, fuses the reads of
// one vehicle into one result, seals each result to the backend's public key
// and publishes it over MQTT. No image ever leaves the process's memory.
//
// Subcommands: run (the default), check, version. See `lprd help`. The
// maintenance and measurement tools (eval, bench, record, lanesim) are in
// cmd/lprlab, which is never installed on a gateway.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time by scripts/setup (-ldflags -X main.version=...).
var version = "dev"

type command struct {
	name, args, summary string
	run                 func(args []string) int
	flags               bool // run(["-h"]) prints flags worth showing under the summary
}

var commands []command

func init() {
	commands = []command{
		{"run", "[-env FILE]", "run the daemon (the default); configuration from the environment or FILE", runMain, true},
		{"check", "[ENVFILE]", "validate a configuration; print every problem; exit 0 only when usable", checkMain, false},
		{"version", "", "print the lprd, OpenCV and recognizer model versions", versionMain, false},
	}
}

// movedToLprlab names the tools that left lprd, to point a user at lprlab.
var movedToLprlab = map[string]bool{"eval": true, "bench": true, "record": true, "lanesim": true}

func main() { os.Exit(dispatch(os.Args[1:])) }

// dispatch runs the command that args name: `lprd [COMMAND] [arguments]`, with
// run as the default when the first argument is a flag or there is none.
func dispatch(args []string) int {
	name := "run"
	if len(args) > 0 {
		switch a := args[0]; {
		case isHelpFlag(a):
			printUsage(os.Stdout)
			return 0
		case a == "-version" || a == "--version":
			name, args = "version", args[1:]
		case a == "help":
			return helpMain(args[1:])
		case len(a) > 0 && a[0] != '-':
			name, args = a, args[1:]
		}
	}
	c, ok := lookup(name)
	if !ok {
		if !unknownCommand("lprd", name) {
			printUsage(os.Stderr)
		}
		return 2
	}
	if len(args) > 0 && isHelpFlag(args[0]) {
		commandHelp(c, os.Stderr)
		return 0
	}
	return c.run(args)
}

// helpMain implements `lprd help [COMMAND]`, on standard output.
func helpMain(args []string) int {
	switch len(args) {
	case 0:
		printUsage(os.Stdout)
		return 0
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			unknownCommand("lprd help", args[0])
			return 2
		}
		commandHelp(c, os.Stdout)
		return 0
	default:
		fmt.Fprintln(os.Stderr, "usage: lprd help [COMMAND]")
		return 2
	}
}

// commandHelp prints c's usage, summary and flags to w.
func commandHelp(c command, w *os.File) {
	fmt.Fprintf(w, "usage: lprd %s\n\n%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	if c.flags {
		// The commands print their flags to os.Stderr (flag's default); point it
		// at w for this call, since the process exits right after.
		saved := os.Stderr
		os.Stderr = w
		fmt.Fprintln(w)
		c.run([]string{"-h"})
		os.Stderr = saved
	}
}

// unknownCommand reports a command lprd does not have and whether it pointed
// the user at lprlab.
func unknownCommand(prefix, name string) (moved bool) {
	if movedToLprlab[name] {
		fmt.Fprintf(os.Stderr, "%s: %s is not part of the gateway daemon; it is `lprlab %s` (cmd/lprlab, built by scripts/setup)\n", prefix, name, name)
		return true
	}
	fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", prefix, name)
	return false
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: lprd [command] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-22s %s\n", c.name+" "+c.args, c.summary)
	}
	fmt.Fprintf(w, "  %-22s %s\n", "help [COMMAND]", "this text, or a command's usage and flags")
	fmt.Fprintln(w, "\n`lprd help COMMAND` or `lprd COMMAND -h` shows a command's flags.\n"+
		"Configuration keys are documented in deploy/lprd.env.")
}

// signalContext returns a context cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

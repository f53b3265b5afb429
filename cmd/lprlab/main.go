// Command lprlab holds lprd's maintenance and measurement tools: scoring the
// recognizer on crops or benchmark photos (eval), replaying frames through the
// real pipeline to measure it (bench), recording a clip from a camera (record)
// and rendering a synthetic lane clip (lanesim).
//
// It is a separate binary so that the gateway's lprd links none of this:
// eval writes plate text in clear, record writes camera images, and bench and
// lanesim pull in the synthetic renderer and its fonts. scripts/setup builds it
// into ./bin for development machines; deploy/install never installs it.
//
// See `lprlab help`.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/models"
)

// version is set at build time by scripts/setup (-ldflags -X main.version=...).
var version = "dev"

type command struct {
	name, args, summary string
	run                 func(args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"eval", "-crops DIR|-dataset DIR -out FILE", "read a folder of plate crops or benchmark photos; write predictions (plate text in clear)", evalMain},
		{"score", "[flags] GT_DIR PRED.tsv", "score predictions against an OpenALPR-benchmark ground-truth folder", scoreMain},
		{"rulesval", "[flags]", "score the plate-format rules on rendered serial and vanity plates (synthetic validation)", rulesvalMain},
		{"bench", "[flags]", "replay frames through the real pipeline as fast as possible and report", benchMain},
		{"record", "-out FILE.avi [flags]", "record a short clip from a real camera to a file (writes images)", recordMain},
		{"lanesim", "-out CLIP.avi [flags]", "render a synthetic lane clip and its ground truth", lanesimMain},
		{"prove", "[-short] [flags]", "the auditor's proof suite against the real binaries and a real mosquitto; a table of figures", proveMain},
		{"gendet", "-out PREFIX [flags]", "render the learned detector's training samples (raw bytes, no image files)", gendetMain},
		{"gencrops", "-out PREFIX [flags]", "render the recognizer's training crops as the reader's own detector and rectifier cut them (raw bytes)", gencropsMain},
		{"evalsynth", "[-scenes DIR] [flags]", "score the whole reader on rendered validation frames (plates of known text over held-out rides and synthetic lanes)", evalsynthMain},
		{"evaldet", "[-scenes DIR] [flags]", "score plate detectors (learned, classical, both) on synthetic validation frames and held-out scenes-ro rides", evaldetMain},
		{"version", "", "print the lprlab, OpenCV and recognizer model versions", versionMain},
	}
}

func main() { os.Exit(dispatch(os.Args[1:])) }

func dispatch(args []string) int {
	if len(args) == 0 {
		printUsage(os.Stderr)
		return 2
	}
	name, args := args[0], args[1:]
	switch {
	case isHelpFlag(name):
		printUsage(os.Stdout)
		return 0
	case name == "-version" || name == "--version":
		name = "version"
	case name == "help":
		return helpMain(args)
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(os.Stderr, "lprlab: unknown command %q\n\n", name)
		printUsage(os.Stderr)
		return 2
	}
	return c.run(args)
}

// helpMain implements `lprlab help [COMMAND]`: the general usage, or a
// command's usage and flags, on standard output.
func helpMain(args []string) int {
	switch len(args) {
	case 0:
		printUsage(os.Stdout)
		return 0
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			fmt.Fprintf(os.Stderr, "lprlab help: unknown command %q\n", args[0])
			return 2
		}
		// The commands print their usage to os.Stderr (flag's default); help
		// asked for is ordinary output, and the process exits right after.
		os.Stderr = os.Stdout
		c.run([]string{"-h"})
		return 0
	default:
		fmt.Fprintln(os.Stderr, "usage: lprlab help [COMMAND]")
		return 2
	}
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

// parseStatus is the exit status for a flag parse error: 0 when help was
// asked for (-h, -help, --help), 2 otherwise.
func parseStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: lprlab <command> [arguments]\n\n"+
		"Maintenance and measurement tools for lprd; never installed on a gateway.\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-40s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(w, "  %-40s %s\n", "help [COMMAND]", "this text, or a command's usage and flags")
	fmt.Fprintln(w, "\n`lprlab COMMAND -h` lists a command's flags.")
}

// versionMain implements `lprlab version`.
func versionMain(args []string) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab version\n\nPrints the lprlab, OpenCV and recognizer model versions.")
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	fmt.Printf("lprlab %s (%s, %s/%s)\nOpenCV %s (gocv %s)\nrecognizer model %s\n",
		version, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		gocv.OpenCVVersion(), gocv.Version(), modelVersion())
	return 0
}

// modelVersion names the embedded recognizer as lprd does (cmd/lprd/daemon.go):
// a prefix of its SHA-256, so that a measurement can be tied to the model a
// gateway reports.
func modelVersion() string {
	sum := sha256.Sum256(models.RecognizerONNX())
	return "ctc-" + hex.EncodeToString(sum[:6])
}

// signalContext returns a context cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// prove is the auditor's proof suite: it runs the real lprd, lprctl and a
// real mosquitto (mutual TLS, persistence on) over generated clips and
// image folders, checks what an agency asks (no image or plate text kept,
// no core file, bad frames survived and counted, no read lost across a
// broker outage or a listener crash, replays refused, check refusing what
// run refuses) and ends with a table: each check, its figure, pass or fail.
//
//	lprlab prove [-short] [-bin DIR] [-keep]
//
// scripts/prove builds the binaries and runs it; exit 1 when a row fails.

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// proveRow is one line of the table. A row whose check could not even be
// set up fails, with the reason as its figure.
type proveRow struct {
	name, figure string
	pass         bool
	took         time.Duration
}

type proveCheck struct {
	name string
	full bool // only without -short
	run  func(e *proveEnv) proveRow
}

func proveChecks() []proveCheck {
	return []proveCheck{
		{"no retention", false, proveNoRetention},
		{"core dumps: lprd", false, proveCoreLprd},
		{"core dumps: lprctl listen", false, proveCoreListen},
		{"crafted frame 65000x65000", false, proveCraftedFrame},
		{"corrupt frames counted", false, proveCorruptFrames},
		{"broker outage 5s", false, func(e *proveEnv) proveRow { return proveOutage(e, 5*time.Second) }},
		{"listener SIGKILL + replay", false, proveListenerKill},
		{"check = run", false, proveCheckRun},
		{"broker outage 60s", true, func(e *proveEnv) proveRow { return proveOutage(e, 60*time.Second) }},
		{"broker outage 10min", true, func(e *proveEnv) proveRow { return proveOutage(e, 10*time.Minute) }},
		{"soak 2x rate", true, proveSoak},
		{"fuzz targets", true, proveFuzz},
		{"acks: broker SIGKILL, 30-min autosave", true, proveAcksBrokerKill},
	}
}

// proveMain implements `lprlab prove`.
func proveMain(args []string) int {
	fs := flag.NewFlagSet("prove", flag.ContinueOnError)
	short := fs.Bool("short", false, "the quick rows only (a few minutes)")
	bin := fs.String("bin", "bin", "folder with lprd, lprctl and lprlab (scripts/setup builds them)")
	repo := fs.String("repo", ".", "the repository (for the fuzz targets)")
	keep := fs.Bool("keep", false, "keep the work folder (logs, state) for inspection")
	run := fs.String("run", "", "only the rows whose name contains this")
	fuzzTime := fs.Duration("fuzztime", 30*time.Second, "how long each fuzz target runs (full mode)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab prove [-short] [flags]\n\nRuns the proof suite against the real binaries and a real mosquitto; prints a table; exit 1 if a row fails.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	e, err := newProveEnv(*bin, *repo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab prove:", err)
		return 1
	}
	e.fuzzTime = *fuzzTime
	defer func() {
		e.killAll()
		if *keep {
			fmt.Fprintln(os.Stderr, "lprlab prove: work folder kept:", e.work)
		} else {
			os.RemoveAll(e.work)
		}
	}()
	start := time.Now()
	var rows []proveRow
	for _, c := range proveChecks() {
		if (c.full && *short) || !strings.Contains(c.name, *run) {
			continue
		}
		fmt.Fprintf(os.Stderr, "prove: %s ...\n", c.name)
		t := time.Now()
		r := c.run(e)
		r.name, r.took = c.name, time.Since(t).Round(100*time.Millisecond)
		fmt.Fprintf(os.Stderr, "prove: %s: %s (%s)\n", c.name, passWord(r.pass), r.figure)
		rows = append(rows, r)
	}
	return printTable(os.Stdout, rows, time.Since(start))
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func printTable(w io.Writer, rows []proveRow, took time.Duration) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tFIGURE\tRESULT\tTIME")
	failed := 0
	for _, r := range rows {
		if !r.pass {
			failed++
		}
		fig := strings.Join(strings.Fields(r.figure), " ") // one line, whatever a log excerpt held
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, fig, passWord(r.pass), r.took)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d checks passed in %s\n", len(rows)-failed, len(rows), took.Round(time.Second))
	if failed > 0 {
		return 1
	}
	return 0
}

// newProveEnv makes the work folder, the PKI, the backend key pair, starts
// the broker and renders the lane clip every row replays.
func newProveEnv(bin, repo string) (*proveEnv, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"lprd", "lprctl"} {
		if _, err := os.Stat(filepath.Join(abs, b)); err != nil {
			return nil, fmt.Errorf("%s not built (run scripts/setup): %w", b, err)
		}
	}
	work, err := os.MkdirTemp("", "lprd-prove.")
	if err != nil {
		return nil, err
	}
	// Others (the unprivileged runs of the core rows) pass through, not list.
	os.Chmod(work, 0o711)
	e := &proveEnv{bin: abs, repo: repo, work: work, devices: filepath.Join(work, "devices")}
	if err := e.setup(); err != nil {
		e.killAll()
		os.RemoveAll(work)
		return nil, err
	}
	return e, nil
}

func (e *proveEnv) setup() error {
	for _, d := range []string{"pki", "backend", "devices", "clip"} {
		if err := os.MkdirAll(filepath.Join(e.work, d), 0o755); err != nil {
			return err
		}
	}
	var err error
	if e.pki, err = newProvePKI(filepath.Join(e.work, "pki")); err != nil {
		return err
	}
	if e.broker, err = e.newBroker(); err != nil {
		return err
	}
	out, err := execOut(filepath.Join(e.bin, "lprctl"), "keygen", "-backend", "-out", filepath.Join(e.work, "backend"))
	if err != nil {
		return fmt.Errorf("lprctl keygen -backend: %v: %s", err, out)
	}
	e.backendKey, e.backendPub = filepath.Join(e.work, "backend", "backend.key"), filepath.Join(e.work, "backend", "backend.pub")
	return e.renderClip()
}

// renderClip renders the lane clip (5 vehicles, about 17 s at 15 fps) with
// a seed of this run, so that its plates are not those of other clips on
// the machine, and reads the plates from its ground truth.
func (e *proveEnv) renderClip() error {
	e.clip = filepath.Join(e.work, "clip", "lane.avi")
	e.truth = filepath.Join(e.work, "clip", "lane.txt")
	seed := fmt.Sprint(time.Now().UnixNano() % 1000000)
	fmt.Fprintf(os.Stderr, "prove: rendering a 5-vehicle lane clip (seed %s) ...\n", seed)
	out, err := execOut(filepath.Join(e.bin, "lprlab"), "lanesim", "-out", e.clip, "-vehicles", "5", "-seed", seed)
	if err != nil {
		return fmt.Errorf("lprlab lanesim: %v: %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(fileText(e.truth)), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 3 {
			e.plates = append(e.plates, f[2])
		}
	}
	if len(e.plates) == 0 {
		return fmt.Errorf("no plates in %s", e.truth)
	}
	return nil
}

// The proof suite's fault and load rows: a broker outage during a stream,
// the listener SIGKILLed and restarted (then every envelope replayed), a
// soak at twice the camera's rate, and the fuzz targets.

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// streamRun is lprd replaying the clip (once, or in a loop for the long
// rows) with a listener of its own.
type streamRun struct {
	lprd    *proveProc
	log     string
	listen  *proveListener
	looping bool
}

func (e *proveEnv) startStream(device string, loop bool, rate string) (*streamRun, error) {
	return e.startStreamWith(device, loop, map[string]string{"LPRD_REPLAY_RATE": rate})
}

// startStreamWith starts a stream with extra env keys. A looping run
// sends a plate again after 1 s (LPRD_FUSION_SUPPRESS), not 30 s: every
// pass of the clip gives reads.
func (e *proveEnv) startStreamWith(device string, loop bool, extra map[string]string) (*streamRun, error) {
	dir := filepath.Join(e.work, device)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if loop {
		extra["LPRD_REPLAY_LOOP"], extra["LPRD_EXIT_AT_END"] = "true", "false"
		if _, ok := extra["LPRD_FUSION_SUPPRESS"]; !ok {
			extra["LPRD_FUSION_SUPPRESS"] = "1s"
		}
	}
	envFile := filepath.Join(dir, "lprd.env")
	if err := e.lprdEnv(envFile, device, extra); err != nil {
		return nil, err
	}
	l, err := e.listen(filepath.Join(dir, "listen"))
	if err != nil {
		return nil, err
	}
	s := &streamRun{log: filepath.Join(dir, "lprd.log"), listen: l, looping: loop}
	if s.lprd, err = e.start(proveCmd{name: "lprd", dir: dir, log: s.log}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile); err != nil {
		l.proc.stop(syscall.SIGTERM, 10*time.Second)
		return nil, err
	}
	if !waitFor(60*time.Second, func() bool { return s.connects() >= 1 || s.lprd.exited() }) || s.lprd.exited() {
		s.stop()
		return nil, fmt.Errorf("lprd did not connect: %.300s", fileText(s.log))
	}
	return s, nil
}

// connects counts lprd's connections to the broker so far.
func (s *streamRun) connects() int {
	log := fileText(s.log)
	return strings.Count(log, `msg="MQTT connected"`) + strings.Count(log, `msg="MQTT reconnected"`)
}

// finish waits for the clip to end (or stops a looping run) and for every
// stored read to reach the listener; it returns lprd's exit code.
func (s *streamRun) finish() (int, delivery) {
	if s.looping {
		s.lprd.stop(syscall.SIGTERM, 60*time.Second)
	}
	code, ok := s.lprd.wait(3 * time.Minute)
	if !ok {
		s.lprd.stop(syscall.SIGKILL, 5*time.Second)
	}
	dl := waitDelivered(s.listen, s.log, 60*time.Second)
	return code, dl
}

func (s *streamRun) stop() {
	s.lprd.stop(syscall.SIGTERM, 30*time.Second)
	s.listen.proc.stop(syscall.SIGTERM, 15*time.Second)
}

// proveOutage stops the broker (SIGTERM) for d during a stream and starts
// it again on the same port: every read lprd stored reaches the listener,
// none twice; the time to recover is until both have reconnected.
func proveOutage(e *proveEnv, d time.Duration) proveRow {
	long := d > 10*time.Second
	s, err := e.startStream(fmt.Sprintf("prove-outage-%s", d), long, "recorded")
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	time.Sleep(3 * time.Second)
	subs := strings.Count(fileText(s.listen.log), "subscribed to")
	before := len(storedEvents(fileText(s.log)))
	e.broker.Stop()
	time.Sleep(d)
	during := len(storedEvents(fileText(s.log))) - before
	if err := e.broker.Start(); err != nil {
		return failRow("broker restart: %v", err)
	}
	back := time.Now()
	var devRec, lisRec time.Duration
	waitFor(2*time.Minute, func() bool {
		if devRec == 0 && s.connects() >= 2 {
			devRec = time.Since(back)
		}
		if lisRec == 0 && strings.Count(fileText(s.listen.log), "subscribed to") > subs {
			lisRec = time.Since(back)
		}
		return devRec > 0 && lisRec > 0
	})
	if long {
		time.Sleep(20 * time.Second) // reads after the outage too
	}
	code, dl := s.finish()
	pass := code == 0 && dl.produced > 0 && dl.lost == 0 && dl.duplicates == 0 && devRec > 0 && lisRec > 0
	return proveRow{pass: pass, figure: fmt.Sprintf("%s (%d stored during the outage); recovered: lprd %s, listener %s; exit %d",
		dl, during, recDur(devRec), recDur(lisRec), code)}
}

func recDur(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

// proveListenerKill SIGKILLs lprctl listen once it wrote a read, restarts it
// with the same state file and session, and at the end publishes every
// envelope of the run again: nothing lost, nothing output twice, every
// replay refused.
func proveListenerKill(e *proveEnv) proveRow {
	rec, err := e.record("lpr/prove/prove-listenkill/reads")
	if err != nil {
		return failRow("%v", err)
	}
	defer rec.close()
	s, err := e.startStream("prove-listenkill", false, "recorded")
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	if !waitFor(2*time.Minute, func() bool { return len(s.listen.reads()) >= 1 }) {
		return failRow("no read reached the listener: %.300s", fileText(s.log))
	}
	s.listen.proc.stop(syscall.SIGKILL, 5*time.Second)
	killedAfter := len(s.listen.reads())
	time.Sleep(2 * time.Second)
	restart := time.Now()
	l2, err := e.listen(s.listen.dir)
	if err != nil {
		return failRow("restart: %v", err)
	}
	restarted := time.Since(restart)
	s.listen = l2
	code, dl := s.finish()
	time.Sleep(2 * time.Second) // the recorder's copies
	lines, logAt := len(l2.reads()), len(fileText(l2.log))
	n, err := rec.replay()
	if err != nil {
		return failRow("%v", err)
	}
	var refused int
	waitFor(20*time.Second, func() bool {
		refused = countRefusals(fileText(l2.log)[logAt:])
		return refused >= n
	})
	accepted := len(l2.reads()) - lines
	recalled := "none"
	if m := recalledRE.FindStringSubmatch(fileText(l2.log)); m != nil {
		recalled = m[1]
	}
	pass := code == 0 && dl.produced > 0 && dl.lost == 0 && dl.duplicates == 0 && n >= dl.produced && refused >= n && accepted == 0
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; killed after %d read(s) (output, not yet saved: %s), restart to subscribed %s; then %d envelopes replayed: %d refused, %d accepted again; exit %d",
		dl, killedAfter, recalled, recDur(restarted), n, refused, accepted, code)}
}

// recalledRE is lprctl listen's line for reads it found in its output but
// not in its state (killed between the two).
var recalledRE = regexp.MustCompile(`(\d+) read\(s\) in the output were not in the replay state`)

var refusalRE = regexp.MustCompile(`(?m)^lprctl: .*(replayed|duplicate)`)

func countRefusals(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "stats:") {
			continue
		}
		if refusalRE.MatchString(line) {
			n++
		}
	}
	return n
}

// procFigures reads VmRSS (KiB), open files and threads of pid.
func procFigures(pid int) (rssKiB, fds, threads int) {
	for _, line := range strings.Split(fileText(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rssKiB, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "Threads:" {
			threads, _ = strconv.Atoi(f[1])
		}
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rssKiB, len(ents), threads
}

// proveSoak replays the clip in a loop at twice its rate for 10 minutes:
// frames dropped are counted, no read is lost, RSS, threads and open files
// stay flat.
func proveSoak(e *proveEnv) proveRow {
	s, err := e.startStream("prove-soak", true, "30")
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	time.Sleep(time.Minute)
	pid := s.lprd.cmd.Process.Pid
	rss0, fd0, th0 := procFigures(pid)
	time.Sleep(9 * time.Minute)
	rss1, fd1, th1 := procFigures(pid)
	h, _ := e.health("prove-soak")
	code, dl := s.finish()
	dropped := healthCount(h, "frames_dropped")
	flat := rss1 <= rss0*3/2+50*1024 && fd1 <= fd0+4 && th1 <= th0+4
	pass := code == 0 && dl.produced > 0 && dl.lost == 0 && flat
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; frames_dropped %d; RSS %d -> %d MiB, open files %d -> %d, threads %d -> %d",
		dl, dropped, rss0/1024, rss1/1024, fd0, fd1, th0, th1)}
}

var fuzzRE = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)

// fuzzTargets finds every Fuzz* function of the module's tests, by package folder.
func fuzzTargets(repo string) map[string][]string {
	out := map[string][]string{}
	filepath.WalkDir(repo, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && path != repo && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			for _, m := range fuzzRE.FindAllStringSubmatch(fileText(path), -1) {
				out[filepath.Dir(path)] = append(out[filepath.Dir(path)], m[1])
			}
		}
		return nil
	})
	return out
}

// proveFuzz runs every fuzz target for e.fuzzTime (30 s by default).
func proveFuzz(e *proveEnv) proveRow {
	targets := fuzzTargets(e.repo)
	dirs := make([]string, 0, len(targets))
	for d := range targets {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var total, raced int
	var failed []string
	for _, d := range dirs {
		for _, name := range targets[d] {
			total++
			rel, err := filepath.Rel(e.repo, d)
			if err != nil {
				rel = d
			}
			ok, race := e.fuzzOne("./"+filepath.ToSlash(rel), name)
			if !ok {
				failed = append(failed, name)
			}
			if race {
				raced++
			}
		}
	}
	return proveRow{pass: total > 0 && len(failed) == 0, figure: fmt.Sprintf("%d targets x %s: %d failed %v; %d rerun by count after Go's fuzz stop race (go.dev/issue/75804)",
		total, e.fuzzTime, len(failed), failed, raced)}
}

var execsRE = regexp.MustCompile(`execs: (\d+)`)

// fuzzOne runs one target for e.fuzzTime, with a deadline of its own that
// leaves 5 minutes for the build and the seed corpus. Go 1.26's fuzz
// coordinator can fail a target with a bare "context deadline exceeded"
// when -fuzztime ends (go.dev/issue/75804, fixed in Go 1.27): no failing
// input is written then. Such a run is repeated once with a count budget
// (-fuzztime Nx, N the executions it reached), which has no deadline.
func (e *proveEnv) fuzzOne(pkg, name string) (ok, raced bool) {
	run := func(budget string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), e.fuzzTime+5*time.Minute)
		defer cancel()
		fmt.Fprintf(os.Stderr, "prove: fuzz %s %s (%s)\n", pkg, name, budget)
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+name+"$", "-fuzztime", budget,
			"-timeout", (e.fuzzTime + 10*time.Minute).String(), pkg)
		cmd.Dir = e.repo
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			err = fmt.Errorf("no result within %v: %w", e.fuzzTime+5*time.Minute, ctx.Err())
		}
		return string(out), err
	}
	out, err := run(e.fuzzTime.String())
	if err == nil {
		return true, false
	}
	if strings.Contains(out, "context deadline exceeded") && !strings.Contains(out, "Failing input written") {
		n := 10000
		if m := execsRE.FindAllStringSubmatch(out, -1); len(m) > 0 {
			n = max(n, atoiOr(m[len(m)-1][1], 0))
		}
		if out, err = run(fmt.Sprintf("%dx", n)); err == nil {
			return true, true
		}
	}
	fmt.Fprintf(os.Stderr, "prove: fuzz %s failed: %v\n%s\n", name, err, out)
	return false, false
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

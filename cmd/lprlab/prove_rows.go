// The proof suite's privacy and bad-input rows: no retention, no core
// file, crafted and corrupt frames, check = run.

package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proveChecks is the table of rows, in the order they run: the quick ones
// (scripts/test and CI run them with -short), then those of the full mode.
// A row of a file of its own registers with one line here.
func proveChecks() []proveCheck {
	return []proveCheck{
		{"no retention", false, proveNoRetention},
		{"core dumps: lprd", false, proveCoreLprd},
		{"core dumps: lprctl listen", false, proveCoreListen},
		{"crafted frame 65000x65000", false, proveCraftedFrame},
		{"corrupt frames counted", false, proveCorruptFrames},
		{"broker outage 5s", false, func(e *proveEnv) proveRow { return proveOutage(e, 5*time.Second) }},
		{"listener SIGKILL + replay", false, proveListenerKill},
		{"lprd SIGKILL + restart", false, proveLprdKill},
		{"check = run", false, proveCheckRun},
		{"bad env files", false, proveBadEnv},
		{"bad key files", false, proveBadKeys},
		{"broker certificate expired/foreign", false, proveBrokerCerts},
		{"state folder full", false, func(e *proveEnv) proveRow { return proveStateFault(e, stateFull) }},
		{"state folder read-only", false, func(e *proveEnv) proveRow { return proveStateFault(e, stateReadOnly) }},
		{"backend: bad payloads", false, proveBadPayloads},
		{"backend: topic binding", false, proveTopicBinding},
		{"backend: replay state by default", false, proveReplayDefault},
		{"signed status/health", false, proveSignedMonitor},
		{"ACL (deploy/mosquitto)", false, proveACL},
		{"acks: broker SIGKILL, 30-min autosave", true, proveAcksBrokerKill},
		{"broker outage 60s", true, func(e *proveEnv) proveRow { return proveOutage(e, 60*time.Second) }},
		{"broker outage 10min", true, func(e *proveEnv) proveRow { return proveOutage(e, 10*time.Minute) }},
		{"TCP black hole 60s (no FIN)", true, proveTCPCut},
		{"camera gone 10s and back", true, proveCameraGone},
		{"soak 2x rate", true, proveSoak},
		{"fuzz targets", true, proveFuzz},
	}
}

func failRow(format string, a ...any) proveRow {
	return proveRow{figure: fmt.Sprintf(format, a...)}
}

// proveNoRetention runs lprd over the clip with its state folder, working
// folder and TMPDIR in one tree, then scans every file of the tree for image
// signatures and plate text, and lprd's output, its retained status and
// health, and the files of the system temp folder changed meanwhile for
// plate text.
func proveNoRetention(e *proveEnv) proveRow {
	tree := filepath.Join(e.work, "retention")
	for _, d := range []string{"state", "cwd", "tmp"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o700); err != nil {
			return failRow("%v", err)
		}
	}
	envFile := filepath.Join(e.work, "retention.env")
	if err := e.lprdEnv(envFile, "prove-retention", map[string]string{"LPRD_STATE_DIR": filepath.Join(tree, "state")}); err != nil {
		return failRow("%v", err)
	}
	l, err := e.listen(filepath.Join(e.work, "listen-retention"))
	if err != nil {
		return failRow("%v", err)
	}
	defer l.proc.stop(syscall.SIGTERM, 15*time.Second)
	started := time.Now()
	logFile, outFile := filepath.Join(e.work, "retention-lprd.log"), filepath.Join(e.work, "retention-lprd.out")
	p, err := e.start(proveCmd{name: "lprd", dir: filepath.Join(tree, "cwd"), log: logFile, out: outFile, env: []string{"TMPDIR=" + filepath.Join(tree, "tmp")}},
		filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return failRow("%v", err)
	}
	code, ok := p.wait(3 * time.Minute)
	if !ok || code != 0 {
		p.stop(syscall.SIGTERM, 10*time.Second)
		return failRow("lprd exit %d (finished %v): %.300s", code, ok, fileText(logFile))
	}
	dl := waitDelivered(l, logFile, 30*time.Second)
	right := platesRead(l.reads(), e.plates)
	needles := plateNeedles(e.plates)
	files, images, hits, largest := scanTree(tree, needles, true)
	logHits := countNeedles(fileText(logFile)+fileText(outFile), needles)
	retained, err := e.retained("lpr/prove/prove-retention/#", 2*time.Second)
	if err != nil {
		return failRow("%v", err)
	}
	topicHits := 0
	for _, b := range retained {
		topicHits += countNeedles(string(b), needles)
	}
	tmpHits := scanChangedTemp(e.work, started, needles)
	pass := right > 0 && images == 0 && hits == 0 && logHits == 0 && topicHits == 0 && tmpHits == 0 && len(retained) >= 2 && largest < 1280*720
	return proveRow{pass: pass, figure: fmt.Sprintf("%d of %d plates read (%d reads); tree: %d files, largest %d B, %d image signatures, %d plate hits; log %d, status+health (%d msgs) %d, changed /tmp files %d plate hits",
		right, len(e.plates), dl.delivered, files, largest, images, hits, logHits, len(retained), topicHits, tmpHits)}
}

// plateNeedles returns each plate as rendered and canonical (O as 0),
// leaving out those shorter than 4 characters (they match timestamps).
func plateNeedles(plates []string) []string {
	var out []string
	for _, p := range plates {
		if len(p) < 4 {
			continue
		}
		out = append(out, p)
		if c := strings.ReplaceAll(p, "O", "0"); c != p {
			out = append(out, c)
		}
	}
	return out
}

// platesRead counts the plates of the ground truth that some read carries.
func platesRead(reads []proveRead, plates []string) int {
	got := map[string]bool{}
	for _, r := range reads {
		got[strings.ReplaceAll(r.Event.Plate, "O", "0")] = true
	}
	n := 0
	for _, p := range plates {
		if got[strings.ReplaceAll(p, "O", "0")] {
			n++
		}
	}
	return n
}

func countNeedles(s string, needles []string) int {
	n := 0
	for _, p := range needles {
		n += strings.Count(s, p)
	}
	return n
}

// imageSignature reports whether b holds a JPEG start (SOI then a marker an
// encoder writes first) or the PNG signature. Four bytes, so that sealed
// envelopes (random-looking bytes) practically never match by chance.
func imageSignature(b []byte) bool {
	if bytes.Contains(b, []byte("\x89PNG\r\n\x1a\n")) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte{0xFF, 0xD8, 0xFF})
		if j < 0 || i+j+3 >= len(b) {
			return false
		}
		if m := b[i+j+3]; m >= 0xE0 && m <= 0xEF || m == 0xDB || m == 0xC0 || m == 0xC4 || m == 0xFE {
			return true
		}
		i += j + 1
	}
}

// scanTree scans every regular file under root for plate text and, when
// images is set, for image signatures.
func scanTree(root string, needles []string, images bool) (files, imageHits, plateHits int, largest int64) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		files++
		largest = max(largest, int64(len(b)))
		if images && imageSignature(b) {
			imageHits++
			fmt.Fprintf(os.Stderr, "prove: image signature in %s\n", path)
		}
		if n := countNeedles(string(b), needles); n > 0 {
			plateHits += n
			fmt.Fprintf(os.Stderr, "prove: plate text in %s\n", path)
		}
		return nil
	})
	return
}

// scanChangedTemp scans the files of the system temp folder (outside the
// suite's own work folder) changed since t for plate text: lprd could
// ignore TMPDIR. Image signatures are not looked for there, other programs
// write images.
func scanChangedTemp(work string, t time.Time, needles []string) int {
	hits := 0
	root := filepath.Dir(work)
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && path == work {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil || !d.Type().IsRegular() || info.ModTime().Before(t) || info.Size() > 256<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil {
			if n := countNeedles(string(b), needles); n > 0 {
				hits += n
				fmt.Fprintf(os.Stderr, "prove: plate text in %s\n", path)
			}
		}
		return nil
	})
	return hits
}

// goodJPEG encodes a w x h grey gradient.
func goodJPEG(w, h, shade int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8((x + y + shade) % 256)})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	return b.Bytes()
}

// craftedJPEG is a valid small JPEG whose frame header (SOF0) claims w x h.
func craftedJPEG(w, h int) ([]byte, error) {
	b := goodJPEG(64, 48, 0)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 || i+9 > len(b) {
		return nil, fmt.Errorf("no SOF0 in the encoded JPEG")
	}
	b[i+5], b[i+6] = byte(h>>8), byte(h)
	b[i+7], b[i+8] = byte(w>>8), byte(w)
	return b, nil
}

// writeFrames writes name -> content into a new folder.
func writeFrames(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

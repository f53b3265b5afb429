package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// benchMain implements `lprlab bench`: replay frames as fast as possible through the real path
// (capture's frame conversion - MJPEG decode or grey copy - into pooled frames, then one
// ocr.FrameReader per worker) and report throughput, latency per stage, CPU and peak memory,
// for each input format, frame size and worker count. Without -clip it renders a synthetic lane
// (ocr/synth) in memory. Nothing is written to disk.
func benchMain(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	clip := fs.String("clip", "", "video file or folder of images to replay (default: a synthetic lane)")
	frames := fs.Int("frames", 300, "frames per configuration")
	distinct := fs.Int("distinct", 24, "distinct frames taken from the clip or rendered")
	sizes := fs.String("sizes", "720p,1080p", "frame sizes: 720p, 1080p or WxH, comma-separated")
	inputs := fs.String("inputs", "mjpeg,grey", "camera formats: mjpeg, grey")
	workers := fs.String("workers", "1,2", "worker counts, comma-separated")
	regions := fs.String("regions", "us", "plate-format regions")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab bench [-clip FILE|DIR] [-frames 300] [-sizes 720p,1080p] [-inputs mjpeg,grey] [-workers 1,2]\n\n"+
			"Replays frames through the real pipeline as fast as possible and reports throughput, latency, CPU and memory.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	cfg, err := parseBench(*sizes, *inputs, *workers)
	if err != nil || *frames < 1 || *distinct < 1 || fs.NArg() > 0 {
		if err != nil {
			fmt.Fprintln(os.Stderr, "lprlab bench:", err)
		}
		fs.Usage()
		return 2
	}
	rules, err := plateformat.Load(*regions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab bench: -regions:", err)
		return 2
	}
	ocr.SetOpenCVThreads(1) // parallelism comes from the workers, as in the daemon
	if err := runBench(os.Stdout, cfg, *clip, *frames, *distinct, ocr.FrameReaderOptions{Rules: rules}); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab bench:", err)
		return 1
	}
	return 0
}

type benchConfig struct {
	sizes   []image.Point
	inputs  []string
	workers []int
}

func parseBench(sizes, inputs, workers string) (benchConfig, error) {
	var c benchConfig
	for _, s := range strings.Split(sizes, ",") {
		switch s = strings.TrimSpace(s); s {
		case "720p":
			c.sizes = append(c.sizes, image.Pt(1280, 720))
		case "1080p":
			c.sizes = append(c.sizes, image.Pt(1920, 1080))
		default:
			w, h, ok := strings.Cut(s, "x")
			wi, err1 := strconv.Atoi(w)
			hi, err2 := strconv.Atoi(h)
			if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi > 8192 || hi > 8192 {
				return c, fmt.Errorf("-sizes: %q is not 720p, 1080p or WxH (64..8192)", s)
			}
			c.sizes = append(c.sizes, image.Pt(wi, hi))
		}
	}
	for _, s := range strings.Split(inputs, ",") {
		if s = strings.TrimSpace(s); s != "mjpeg" && s != "grey" {
			return c, fmt.Errorf("-inputs: %q is not mjpeg or grey", s)
		}
		c.inputs = append(c.inputs, strings.TrimSpace(s))
	}
	for _, s := range strings.Split(workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 64 {
			return c, fmt.Errorf("-workers: %q is not a count from 1 to 64", s)
		}
		c.workers = append(c.workers, n)
	}
	return c, nil
}

// benchFrame is one replayable frame in both camera formats.
type benchFrame struct {
	jpeg []byte // MJPEG frame as a camera sends it
	grey []byte // GREY frame (W*H bytes)
}

func runBench(w io.Writer, cfg benchConfig, clip string, frames, distinct int, opt ocr.FrameReaderOptions) error {
	fmt.Fprintf(w, "lprlab bench: %d frames per row, OpenCV %s, OpenCV threads %d, source %s\n",
		frames, gocv.OpenCVVersion(), ocr.OpenCVThreads(), benchSourceName(clip))
	fmt.Fprintf(w, "%-6s %-9s %3s %7s %8s %8s %8s %7s %7s %7s %6s %6s %7s %7s\n",
		"input", "size", "wrk", "fps", "e2e p50", "e2e p90", "e2e p99", "conv", "locate", "read", "plates", "cpu", "cpu/fr", "rss MB")
	for _, size := range cfg.sizes {
		src, err := benchSource(clip, size, distinct)
		if err != nil {
			return err
		}
		for _, in := range cfg.inputs {
			for _, nw := range cfg.workers {
				r, err := replay(src, size, in, nw, frames, opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%-6s %-9s %3d %7.1f %8.2f %8.2f %8.2f %7.2f %7.2f %7.2f %6.2f %5.0f%% %7.2f %7.0f\n",
					in, fmt.Sprintf("%dx%d", size.X, size.Y), nw, r.fps, r.e2e[0], r.e2e[1], r.e2e[2],
					r.conv, r.locate, r.read, r.plates, r.cpu*100, r.cpuPerFrame, r.rssMB)
			}
		}
	}
	fmt.Fprintln(w, "latencies in ms: e2e = camera bytes to plate reads (conv + locate + read + rules); conv = MJPEG decode or grey copy into a pooled frame;")
	fmt.Fprintln(w, "stage columns are medians; plates = reads per frame; cpu = process CPU time over wall time (100% = one core);")
	fmt.Fprintln(w, "cpu/fr = process CPU ms per frame (what a frame costs whatever else loads the machine); rss = peak resident memory so far")
	return nil
}

func benchSourceName(clip string) string {
	if clip == "" {
		return "synthetic lane (ocr/synth)"
	}
	return clip
}

// benchSource loads (or renders) distinct frames at size and encodes each as MJPEG and GREY.
func benchSource(clip string, size image.Point, distinct int) ([]benchFrame, error) {
	var mats []gocv.Mat
	defer func() {
		for _, m := range mats {
			m.Close()
		}
	}()
	switch {
	case clip == "":
		lane := synth.NewLane(1, synth.LaneOptions{Width: size.X, Height: size.Y, Vehicles: 3})
		for i := 0; i < distinct; i++ {
			sc := lane.Frame(i * lane.Frames() / distinct)
			m, err := gocv.ImageToMatRGB(sc.Image) // gocv's "RGB" Mat is BGR ordered
			if err != nil {
				return nil, fmt.Errorf("bench: synthetic frame: %w", err)
			}
			mats = append(mats, m)
		}
	default:
		st, err := os.Stat(clip)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		if st.IsDir() {
			names, _ := filepath.Glob(filepath.Join(clip, "*"))
			slices.Sort(names)
			for _, n := range names {
				if len(mats) == distinct {
					break
				}
				if ext := strings.ToLower(filepath.Ext(n)); ext != ".jpg" && ext != ".jpeg" && ext != ".png" {
					continue
				}
				m := gocv.IMRead(n, gocv.IMReadColor)
				if m.Empty() {
					m.Close()
					continue
				}
				mats = append(mats, m)
			}
		} else {
			vc, err := gocv.VideoCaptureFile(clip)
			if err != nil {
				return nil, fmt.Errorf("bench: open %s: %w", clip, err)
			}
			for len(mats) < distinct {
				m := gocv.NewMat()
				if !vc.Read(&m) || m.Empty() {
					m.Close()
					break
				}
				mats = append(mats, m)
			}
			vc.Close()
		}
		if len(mats) == 0 {
			return nil, fmt.Errorf("bench: %s: no frames", clip)
		}
	}
	out := make([]benchFrame, 0, len(mats))
	sized, grey := gocv.NewMat(), gocv.NewMat()
	defer sized.Close()
	defer grey.Close()
	for _, m := range mats {
		gocv.Resize(m, &sized, size, 0, 0, gocv.InterpolationArea)
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, sized, []int{gocv.IMWriteJpegQuality, 85})
		if err != nil {
			return nil, fmt.Errorf("bench: encode: %w", err)
		}
		jpeg := slices.Clone(buf.GetBytes())
		buf.Close()
		gocv.CvtColor(sized, &grey, gocv.ColorBGRToGray)
		g, err := grey.DataPtrUint8()
		if err != nil {
			return nil, fmt.Errorf("bench: grey: %w", err)
		}
		out = append(out, benchFrame{jpeg: jpeg, grey: slices.Clone(g)})
	}
	return out, nil
}

type benchResult struct {
	fps                float64
	e2e                [3]float64 // p50, p90, p99 ms
	conv, locate, read float64    // median ms
	plates             float64
	cpu                float64
	cpuPerFrame        float64 // ms
	rssMB              float64
}

// replay pushes n frames through nw workers as fast as they take them.
func replay(src []benchFrame, size image.Point, input string, nw, n int, opt ocr.FrameReaderOptions) (benchResult, error) {
	readers := make([]*ocr.FrameReader, nw)
	for i := range readers {
		fr, err := ocr.NewFrameReader(opt)
		if err != nil {
			for _, r := range readers[:i] {
				r.Close()
			}
			return benchResult{}, err
		}
		readers[i] = fr
	}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	pool := capture.NewPool(2 * nw)
	// Warm up each reader (first-call allocations, DNN initialisation) outside the timing.
	for _, fr := range readers {
		if _, err := fr.Read(src[0].grey, size.X, size.Y, 1); err != nil {
			return benchResult{}, err
		}
	}
	type sample struct {
		e2e, conv, locate, read time.Duration
		plates                  int
	}
	samples := make([]sample, n)
	jobs := make(chan int, nw)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	ru0 := rusage()
	start := time.Now()
	for _, fr := range readers {
		wg.Add(1)
		go func(fr *ocr.FrameReader) {
			defer wg.Done()
			for i := range jobs {
				bf := src[i%len(src)]
				t0 := time.Now()
				var f *capture.Frame
				var err error
				if input == "mjpeg" {
					f, err = capture.ConvertFrame(pool, bf.jpeg, capture.FourCCMJPEG, size.X, size.Y, capture.FormatGrey)
				} else {
					f, err = capture.ConvertFrame(pool, bf.grey, capture.FourCCGrey, size.X, size.Y, capture.FormatGrey)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				conv := time.Since(t0)
				reads, err := fr.Read(f.Pix, f.Width, f.Height, f.Format.Channels())
				f.Release()
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				tm := fr.LastTiming()
				samples[i] = sample{e2e: time.Since(t0), conv: conv, locate: tm.Locate, read: tm.Recognize, plates: len(reads)}
			}
		}(fr)
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	ru1 := rusage()
	if firstErr != nil {
		return benchResult{}, fmt.Errorf("bench: %w", firstErr)
	}
	pick := func(get func(sample) time.Duration) []float64 {
		v := make([]float64, n)
		for i, s := range samples {
			v[i] = float64(get(s)) / float64(time.Millisecond)
		}
		slices.Sort(v)
		return v
	}
	q := func(v []float64, p float64) float64 { return v[min(len(v)-1, int(float64(len(v))*p))] }
	e2e := pick(func(s sample) time.Duration { return s.e2e })
	r := benchResult{
		fps:         float64(n) / wall.Seconds(),
		e2e:         [3]float64{q(e2e, 0.5), q(e2e, 0.9), q(e2e, 0.99)},
		conv:        q(pick(func(s sample) time.Duration { return s.conv }), 0.5),
		locate:      q(pick(func(s sample) time.Duration { return s.locate }), 0.5),
		read:        q(pick(func(s sample) time.Duration { return s.read }), 0.5),
		cpu:         (ru1.cpu - ru0.cpu).Seconds() / wall.Seconds(),
		cpuPerFrame: float64(ru1.cpu-ru0.cpu) / float64(time.Millisecond) / float64(n),
		rssMB:       ru1.maxRSSMB,
	}
	for _, s := range samples {
		r.plates += float64(s.plates)
	}
	r.plates /= float64(n)
	return r, nil
}

type usage struct {
	cpu      time.Duration
	maxRSSMB float64
}

func rusage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return usage{
		cpu:      time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSSMB: float64(ru.Maxrss) / 1024, // Linux reports KiB
	}
}

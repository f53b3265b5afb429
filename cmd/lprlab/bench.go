package main

import (
	"context"
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
	"github.com/lprd/lprd/internal/quantile"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/lane"
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
	detector := fs.String("detector", string(ocr.DefaultDetector), "plate detector: classical, learned, both or agree")
	fp32 := fs.Bool("fp32", false, "run the recognizer's network in 32-bit floats, unquantized (ocr.RecognizerOptions.FP32), to compare")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab bench [-clip FILE|DIR] [-frames 300] [-sizes 720p,1080p] [-inputs mjpeg,grey] [-workers 1,2] [-detector KIND] [-fp32]\n\n"+
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
	kind, err := ocr.ParseDetectorKind(*detector)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab bench: -detector:", err)
		return 2
	}
	ocr.SetOpenCVThreads(1) // parallelism comes from the workers, as in the daemon
	if err := runBench(os.Stdout, cfg, *clip, *frames, *distinct, ocr.FrameReaderOptions{Rules: rules, DetectorKind: kind, Recognizer: ocr.RecognizerOptions{FP32: *fp32}}); err != nil {
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
	fmt.Fprintln(w, "latencies in ms: e2e = camera bytes to plate reads through ocr/lane (conv + queue wait + locate + read + rules), as the daemon's health reports it;")
	fmt.Fprintln(w, "conv = MJPEG decode or grey copy into a pooled frame, on one goroutine as capture does;")
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

// replay pushes n frames through the lane pipeline (ocr/lane) with nw workers as fast
// as it takes them: one goroutine converts each camera frame into a pooled frame and
// queues it, as capture does, and the pipeline reads and fuses them, as in the daemon.
func replay(src []benchFrame, size image.Point, input string, nw, n int, opt ocr.FrameReaderOptions) (benchResult, error) {
	tr := &timings{}
	p, err := lane.New(lane.Options{Workers: nw, Reader: opt, Replay: true,
		NewReader: func(o ocr.FrameReaderOptions) (lane.Reader, error) {
			fr, err := ocr.NewFrameReader(o)
			if err != nil {
				return nil, err
			}
			// Warm up (first-call allocations, DNN initialisation) outside the timing.
			if _, err := fr.Read(src[0].grey, size.X, size.Y, 1); err != nil {
				fr.Close()
				return nil, err
			}
			return &timedReader{fr: fr, t: tr}, nil
		}})
	if err != nil {
		return benchResult{}, err
	}
	defer p.Close()
	pool := capture.NewPool(2*nw + 2)
	q := capture.NewQueue(nw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(q, lane.SinkFunc(func(fusion.Result) error { return nil }))
	}()
	conv := make([]float64, 0, n)
	var convErr error
	ru0 := rusage()
	start := time.Now()
	for i := range n {
		bf := src[i%len(src)]
		t0 := time.Now()
		f, err := convert(pool, bf, input, size)
		if err != nil {
			convErr = err
			break
		}
		conv = append(conv, ms(time.Since(t0)))
		f.Wall, f.Mono = t0, time.Duration(i)*100*time.Millisecond // a 10 fps lane
		q.PushWait(context.Background(), f)
	}
	q.Close()
	<-done
	wall := time.Since(start)
	ru1 := rusage()
	if convErr != nil {
		return benchResult{}, fmt.Errorf("bench: %w", convErr)
	}
	st := p.Stats()
	if st.FramesRejected > 0 {
		return benchResult{}, fmt.Errorf("bench: the reader rejected %d frames", st.FramesRejected)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r := benchResult{
		fps:         float64(n) / wall.Seconds(),
		e2e:         [3]float64{st.LatencyP50Ms, st.LatencyP90Ms, st.LatencyP99Ms},
		conv:        quantile.Percentile(conv, 50),
		locate:      quantile.Percentile(tr.locate, 50),
		read:        quantile.Percentile(tr.read, 50),
		plates:      float64(st.PlateReads) / float64(n),
		cpu:         (ru1.cpu - ru0.cpu).Seconds() / wall.Seconds(),
		cpuPerFrame: float64(ru1.cpu-ru0.cpu) / float64(time.Millisecond) / float64(n),
		rssMB:       ru1.maxRSSMB,
	}
	return r, nil
}

func convert(pool *capture.Pool, bf benchFrame, input string, size image.Point) (*capture.Frame, error) {
	if input == "mjpeg" {
		return capture.ConvertFrame(pool, bf.jpeg, capture.FourCCMJPEG, size.X, size.Y, capture.FormatGrey)
	}
	return capture.ConvertFrame(pool, bf.grey, capture.FourCCGrey, size.X, size.Y, capture.FormatGrey)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timings collects the per-stage times of every worker's reads.
type timings struct {
	mu           sync.Mutex
	locate, read []float64
}

// timedReader is a lane.Reader that records its FrameReader's stage times.
type timedReader struct {
	fr *ocr.FrameReader
	t  *timings
}

func (r *timedReader) Read(pix []byte, w, h, ch int) ([]ocr.PlateRead, error) {
	reads, err := r.fr.Read(pix, w, h, ch)
	tm := r.fr.LastTiming()
	r.t.mu.Lock()
	r.t.locate = append(r.t.locate, ms(tm.Locate))
	r.t.read = append(r.t.read, ms(tm.Recognize))
	r.t.mu.Unlock()
	return reads, err
}

func (r *timedReader) Close() error { return r.fr.Close() }

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

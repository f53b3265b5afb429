package ocr

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/lprd/lprd/internal/quantile"
)

// DatasetEvalStats summarizes an EvalDataset run.
type DatasetEvalStats struct {
	// Images processed; WithRead of them gave at least one plate.
	Images, WithRead int
	// MedianMs and P90Ms are the per-image times written to the output (see EvalDataset).
	MedianMs, P90Ms float64
	// WallMedianMs is the median wall-clock time of the same span.
	WallMedianMs float64
	// DecodeMedianMs is the median time of decoding the image file (not included above).
	DecodeMedianMs float64
}

// datasetExts are the image types EvalDataset reads.
var datasetExts = []string{".jpg", ".jpeg", ".png", ".bmp"}

// EvalDataset runs the whole-frame pipeline on every image of dir (an OpenALPR benchmark
// folder: NAME.jpg with NAME.txt ground truth, which is not read here) and writes one line per
// candidate to w:
//
//	image<TAB>rank<TAB>plate<TAB>confidence<TAB>time_ms<TAB>x<TAB>y<TAB>w<TAB>h
//
// ranks 1..N per detected plate (each plate with its box); an image with no read gets one line
// with rank 0 and an empty plate. time_ms is the CPU time of the pipeline on the decoded image
// (conversion to grey, localization, rectification, recognition, format rules) on one core:
// OpenCV runs single-threaded on the calling thread while EvalDataset runs, so CPU time is what
// the frame costs a worker regardless of what else loads the machine. Reading and decoding the
// file are excluded (the camera stage decodes in the daemon). This output is for evaluation on
// the bench; the product never writes plate text in clear.
func EvalDataset(dir string, w io.Writer, opt FrameReaderOptions) (DatasetEvalStats, error) {
	var st DatasetEvalStats
	ents, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("ocr: eval dataset %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && slices.Contains(datasetExts, strings.ToLower(filepath.Ext(e.Name()))) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prevThreads := OpenCVThreads()
	SetOpenCVThreads(1)
	defer SetOpenCVThreads(prevThreads)
	fr, err := NewFrameReader(opt)
	if err != nil {
		return st, err
	}
	defer fr.Close()
	bw := bufio.NewWriter(w)
	var cpu, wall, dec []float64
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return st, fmt.Errorf("ocr: eval dataset: %w", err)
		}
		t0 := time.Now()
		img, err := gocv.IMDecode(data, gocv.IMReadColor)
		if err != nil || img.Empty() {
			img.Close()
			return st, fmt.Errorf("ocr: eval dataset %s: cannot decode %s", dir, name)
		}
		dec = append(dec, ms(time.Since(t0)))
		c0 := threadCPU()
		t1 := time.Now()
		reads, err := fr.ReadMat(img)
		wall = append(wall, ms(time.Since(t1)))
		cpuMs := ms(threadCPU() - c0)
		img.Close()
		if err != nil {
			return st, fmt.Errorf("ocr: eval dataset %s: %w", name, err)
		}
		cpu = append(cpu, cpuMs)
		st.Images++
		if len(reads) == 0 {
			fmt.Fprintf(bw, "%s\t0\t\t0\t%.3f\n", name, cpuMs)
			continue
		}
		st.WithRead++
		for _, r := range reads {
			b := r.Box
			for k, c := range r.Candidates {
				fmt.Fprintf(bw, "%s\t%d\t%s\t%.4f\t%.3f\t%d\t%d\t%d\t%d\n", name, k+1, c.Text, c.Confidence, cpuMs,
					b.Min.X, b.Min.Y, b.Dx(), b.Dy())
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("ocr: eval dataset: write: %w", err)
	}
	st.MedianMs, st.P90Ms = quantile.Percentile(cpu, 50), quantile.Percentile(cpu, 90)
	st.WallMedianMs, st.DecodeMedianMs = quantile.Percentile(wall, 50), quantile.Percentile(dec, 50)
	return st, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// threadCPU is the CPU time consumed so far by the calling OS thread (the caller locks its
// goroutine to the thread).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

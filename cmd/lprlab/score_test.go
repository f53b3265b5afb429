package main

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles writes name -> content into a new temporary folder and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runScore scores pred (the content of a predictions file) against the ground-truth folder gt.
func runScore(t *testing.T, gt, pred string, opt scoreOptions) string {
	t.Helper()
	predPath := filepath.Join(t.TempDir(), "pred.tsv")
	if err := os.WriteFile(predPath, []byte(pred), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := loadGroundTruth(gt)
	if err != nil {
		t.Fatalf("loadGroundTruth: %v", err)
	}
	p, err := loadPredictions(predPath)
	if err != nil {
		t.Fatalf("loadPredictions: %v", err)
	}
	var sb strings.Builder
	score(&sb, g, p, opt)
	return sb.String()
}

// The expected figures below were worked out by hand and agree with the Python scorer's
// output on the same files.

func TestScoreFrames(t *testing.T) {
	gt := writeFiles(t, map[string]string{
		"a.txt": "a.jpg\t10\t10\t100\t50\tABC-123\n",
		"b.txt": "b.jpg\t0\t0\t40\t20\t7XYZ 89\r\nb.jpg\t200\t100\t40\t20\tQQ1\r\n",
		"c.txt": "\t5\t5\t10\t10\tzz9\n",      // no file name: the .txt's stem
		"d.txt": "d.png\t1\t1\t1\t1\t \n",     // no plate text: not a plate
		"e.md":  "e.jpg\t1\t1\t1\t1\tNOTGT\n", // not a .txt
	})
	pred := "# a comment\n" +
		"dir/a.png\t1\tabc123\t0.9\t12.5\t12\t10\t100\t50\n" +
		"a\t2\tABC128\t0.5\t99\n" +
		"\n" +
		"b.jpg\t1\t7XYZ88\t0.8\t20\t0\t0\t40\t20\n" +
		"b.jpg\t2\t7XYZ89\t0.7\t20\n" +
		"b.jpg\t1\tQQ1\t0.6\t20\t300\t300\t10\t10\n" +
		"c\t0\t\t0\t7.5\n" +
		"e.jpg\t1\tNOPE\t0.1\t3\n"
	want := `images:               3
plates in gt:         4
images w/o any line:  0
pred images not in gt: 1 (ignored)
top-1 accuracy:       2/4 = 50.0%
top-5 match rate:     3/4 = 75.0%
top-10 match rate:    3/4 = 75.0%
rank-1 reads:         3 (correct 2/3 = 66.7%)
plate detected (IoU>=0.4): 2/4 = 50.0%
time ms (n=3):    median 12.5  p90 20.0  mean 13.3  max 20.0
`
	if got := runScore(t, gt, pred, scoreOptions{IoU: 0.4, K: []int{1, 5, 10}}); got != want {
		t.Errorf("score:\n%s\nwant:\n%s", got, want)
	}
	wantMisses := strings.Replace(want, "IoU>=0.4): 2/4 = 50.0%", "IoU>=0.97): 1/4 = 25.0%", 1) +
		"miss\tb\t7XYZ89\t7XYZ88,QQ1\n" +
		"miss\tc\tZZ9\t-\n"
	if got := runScore(t, gt, pred, scoreOptions{IoU: 0.97, K: []int{1, 5, 10}, Misses: true}); got != wantMisses {
		t.Errorf("score -iou 0.97 -misses:\n%s\nwant:\n%s", got, wantMisses)
	}
}

func TestScoreCrops(t *testing.T) {
	gt := writeFiles(t, map[string]string{
		"groundtruth.csv": "p1.png,ca,7ABC123\np2.png,ny,HJK-4421\np3.png,tx,\n.hidden.png,wa,X1\n",
		"p9.txt":          "p9.png\t0\t0\t1\t1\tIGNORED\n", // the .csv wins
	})
	pred := "p1\t1\t7ABC123\t0.9\t3.0\n" +
		"p2.png\t1\tHJK4427\t0.8\t5.0\n" +
		"p2.png\t2\tHJK 4421\t0.4\t5.0\n" +
		".hidden\t1\tX1\t0.9\t1.0\n"
	want := `images:               3
plates in gt:         3
images w/o any line:  0
top-1 accuracy:       2/3 = 66.7%
top-2 match rate:     3/3 = 100.0%
rank-1 reads:         3 (correct 2/3 = 66.7%)
time ms (n=3):    median 3.0  p90 5.0  mean 3.0  max 5.0
`
	if got := runScore(t, gt, pred, scoreOptions{IoU: 0.4, K: []int{1, 2}}); got != want {
		t.Errorf("score -k 1,2:\n%s\nwant:\n%s", got, want)
	}

	// An image without any line, and a file with no times and no rank-1 reads.
	want = `images:               3
plates in gt:         3
images w/o any line:  2
top-1 accuracy:       0/3 = 0.0%
top-5 match rate:     1/3 = 33.3%
top-10 match rate:    1/3 = 33.3%
rank-1 reads:         0 (correct n/a)
`
	if got := runScore(t, gt, "p2\t3\tHJK4421\t0.2\n", scoreOptions{IoU: 0.4, K: []int{1, 5, 10}}); got != want {
		t.Errorf("score, one line:\n%s\nwant:\n%s", got, want)
	}
}

func TestScoreErrors(t *testing.T) {
	pred := filepath.Join(t.TempDir(), "pred.tsv")
	os.WriteFile(pred, []byte("a\t1\tX\t0.5\nb\t1\tY\n"), 0o600)
	if _, err := loadPredictions(pred); err == nil || !strings.Contains(err.Error(), "pred.tsv:2: expected >= 4 tab-separated columns") {
		t.Errorf("loadPredictions(3 columns) = %v; want the line's error", err)
	}
	os.WriteFile(pred, []byte("a\tone\tX\t0.5\n"), 0o600)
	if _, err := loadPredictions(pred); err == nil || !strings.Contains(err.Error(), "pred.tsv:1: rank") {
		t.Errorf("loadPredictions(rank one) = %v; want a rank error", err)
	}
	if _, err := loadGroundTruth(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("loadGroundTruth(missing) = nil error; want one")
	}
	if got := scoreMain([]string{"only-one-arg"}); got != 2 {
		t.Errorf("scoreMain(one argument) = %d; want 2", got)
	}
	if got := scoreMain([]string{"-k", "0", "a", "b"}); got != 2 {
		t.Errorf("scoreMain(-k 0) = %d; want 2", got)
	}
}

func TestScoreParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args, pos []string
		misses    bool
	}{
		{[]string{"-misses", "gt", "p.tsv"}, []string{"gt", "p.tsv"}, true},
		{[]string{"gt", "p.tsv", "-misses"}, []string{"gt", "p.tsv"}, true},
		{[]string{"gt", "-misses", "p.tsv"}, []string{"gt", "p.tsv"}, true},
		{[]string{"gt", "--", "-p.tsv"}, []string{"gt", "-p.tsv"}, false},
	} {
		fs := flag.NewFlagSet("score", flag.ContinueOnError)
		misses := fs.Bool("misses", false, "")
		pos, err := parseInterspersed(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || *misses != tc.misses {
			t.Errorf("parseInterspersed(%q) = %q, misses %v, %v; want %q, misses %v", tc.args, pos, *misses, err, tc.pos, tc.misses)
		}
	}
}

func TestScoreStem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"car1.jpg", "car1"},
		{" dir/sub/car1.JPG \n", "car1"},
		{"car1", "car1"},
		{"a.b.png", "a.b"},
		{".hidden", ".hidden"},
		{"..x.png", "..x"},
		{"dir.d/car", "car"},
	} {
		if got := stem(tc.in); got != tc.want {
			t.Errorf("stem(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestScoreNormPlate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc-123", "ABC123"},
		{" 7 xy\tz-9 ", "7XYZ9"},
		{"A\x1fB", "AB"}, // Python counts the unit separator as white space
		{"--", ""},
	} {
		if got := normPlate(tc.in); got != tc.want {
			t.Errorf("normPlate(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestScorePyFloatRepr(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0.4, "0.4"}, {1, "1.0"}, {0.45, "0.45"}, {1e-05, "1e-05"}, {0, "0.0"}, {1e16, "1e+16"},
	} {
		if got := pyFloatRepr(tc.in); got != tc.want {
			t.Errorf("pyFloatRepr(%v) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestScoreFsum(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1.0}, // naive: 0.9999999999999999
		{[]float64{1e100, 1, -1e100}, 1},
		{[]float64{1, 1e-16, 1e-16}, 1.0000000000000002},
		{[]float64{math.Pow(2, 53), 1, 1e-10}, math.Pow(2, 53) + 2}, // half-way rounding pushed up
	} {
		if got := fsum(tc.in); got != tc.want {
			t.Errorf("fsum(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

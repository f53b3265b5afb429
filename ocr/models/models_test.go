package models

import (
	"encoding/binary"
	"math"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// TestReference checks that OpenCV DNN computes the same logits for the
// embedded network as PyTorch did at export time, on the reference batch that
// scripts/train_ocr.py stores in testdata.
func TestReference(t *testing.T) {
	start := matCount()
	raw, err := os.ReadFile("testdata/reference_input.u8")
	if err != nil {
		t.Fatal(err)
	}
	rawOut, err := os.ReadFile("testdata/reference_logits.f32")
	if err != nil {
		t.Fatal(err)
	}
	const px = InputWidth * InputHeight
	const nout = Classes * Steps
	n := len(raw) / px
	if n == 0 || len(raw) != n*px || len(rawOut) != 4*n*nout {
		t.Fatalf("reference files: %d input bytes, %d output bytes for %d images", len(raw), len(rawOut), n)
	}
	net, err := gocv.ReadNetFromONNXBytes(RecognizerONNX())
	if err != nil {
		t.Fatalf("ReadNetFromONNXBytes: %v", err)
	}
	defer net.Close()
	blob := gocv.NewMatWithSizes([]int{1, 1, InputHeight, InputWidth}, gocv.MatTypeCV32F)
	defer blob.Close()
	data, err := blob.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range n {
		Normalize(raw[i*px:(i+1)*px], data)
		net.SetInput(blob, "")
		out := net.Forward("")
		sz := out.Size()
		if len(sz) != 4 || sz[0] != 1 || sz[1] != Classes || sz[2] != 1 || sz[3] != Steps {
			out.Close()
			t.Fatalf("output shape %v; want [1 %d 1 %d]", sz, Classes, Steps)
		}
		got, err := out.DataPtrFloat32()
		if err != nil {
			out.Close()
			t.Fatal(err)
		}
		for k, g := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(rawOut[4*(i*nout+k):]))
			worst = math.Max(worst, math.Abs(float64(g-want)))
		}
		out.Close()
	}
	t.Logf("largest logit difference over %d images: %.2g", n, worst)
	if worst > 1e-3 {
		t.Errorf("gocv logits differ from PyTorch's by %.3g; want < 1e-3", worst)
	}
	blob.Close()
	net.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

func TestPrepare(t *testing.T) {
	start := matCount()
	grey, dst := gocv.NewMat(), gocv.NewMat()
	for _, tc := range []struct {
		rows, cols int
		typ        gocv.MatType
		ok         bool
	}{
		{1, 1, gocv.MatTypeCV8UC1, true},
		{77, 156, gocv.MatTypeCV8UC3, true},
		{40, 2000, gocv.MatTypeCV8UC4, true},
		{10, 10, gocv.MatTypeCV32F, false},
	} {
		src := gocv.NewMatWithSize(tc.rows, tc.cols, tc.typ)
		err := Prepare(src, &grey, &dst)
		src.Close()
		if (err == nil) != tc.ok {
			t.Errorf("Prepare(%dx%d type %v) err = %v; want ok=%v", tc.rows, tc.cols, tc.typ, err, tc.ok)
			continue
		}
		if tc.ok && (dst.Rows() != InputHeight || dst.Cols() != InputWidth || dst.Type() != gocv.MatTypeCV8UC1) {
			t.Errorf("Prepare(%dx%d) gave %dx%d type %v", tc.rows, tc.cols, dst.Rows(), dst.Cols(), dst.Type())
		}
	}
	empty := gocv.NewMat()
	if err := Prepare(empty, &grey, &dst); err == nil {
		t.Error("Prepare(empty) = nil; want an error")
	}
	empty.Close()
	grey.Close()
	dst.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

func TestNormalize(t *testing.T) {
	pix := []byte{0, 255, 0, 255}
	out := make([]float32, 4)
	Normalize(pix, out)
	for i, v := range out {
		want := float32(-1)
		if pix[i] == 255 {
			want = 1
		}
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("Normalize: out[%d] = %v; want %v", i, v, want)
		}
	}
	flat := []byte{9, 9, 9}
	Normalize(flat, out[:3])
	for i, v := range out[:3] {
		if v != 0 {
			t.Errorf("Normalize(flat): out[%d] = %v; want 0", i, v)
		}
	}
}

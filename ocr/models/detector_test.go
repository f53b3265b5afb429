package models

import (
	"encoding/binary"
	"math"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// Shape of the committed reference pair (scripts/train_detector.py REF_H, REF_W).
const refH, refW = 160, 256

// TestDetectorReference checks that OpenCV DNN computes the same maps for the
// embedded detector as PyTorch did at export time, on the reference pair that
// scripts/train_detector.py stores in testdata.
func TestDetectorReference(t *testing.T) {
	start := matCount()
	raw, err := os.ReadFile("testdata/detector_input.u8")
	if err != nil {
		t.Fatal(err)
	}
	rawOut, err := os.ReadFile("testdata/detector_output.f32")
	if err != nil {
		t.Fatal(err)
	}
	const px = refH * refW
	const nout = DetectorChannels * (refH / DetectorStride) * (refW / DetectorStride)
	n := len(raw) / px
	if n == 0 || len(raw) != n*px || len(rawOut) != 4*n*nout {
		t.Fatalf("reference files: %d input bytes, %d output bytes for %d images", len(raw), len(rawOut), n)
	}
	net, err := gocv.ReadNetFromONNXBytes(DetectorONNX())
	if err != nil {
		t.Fatalf("ReadNetFromONNXBytes: %v", err)
	}
	defer net.Close()
	blob := gocv.NewMatWithSizes([]int{1, 1, refH, refW}, gocv.MatTypeCV32F)
	defer blob.Close()
	data, err := blob.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range n {
		for k, v := range raw[i*px : (i+1)*px] {
			data[k] = DetectorInput(v)
		}
		net.SetInput(blob, "")
		out := net.Forward("")
		sz := out.Size()
		if len(sz) != 4 || sz[1] != DetectorChannels || sz[2] != refH/DetectorStride || sz[3] != refW/DetectorStride {
			out.Close()
			t.Fatalf("output shape %v; want [1 %d %d %d]", sz, DetectorChannels, refH/DetectorStride, refW/DetectorStride)
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
	t.Logf("largest output difference over %d images: %.2g", n, worst)
	if worst > 1e-3 {
		t.Errorf("gocv maps differ from PyTorch's by %.3g; want < 1e-3", worst)
	}
	blob.Close()
	net.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

package ocr

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/models"
)

// DetectorInputSize is the long side, in pixels, to which the learned detector scales a frame.
const DetectorInputSize = models.DetectorLongSide

// LearnedDetectorOptions tunes a [LearnedDetector]. The zero value of each field selects its
// default.
type LearnedDetectorOptions struct {
	// Model is the ONNX network; nil uses the embedded one (models.DetectorONNX).
	Model []byte
	// Threshold is the lowest plate-centre probability kept (default 0.3).
	Threshold float64
	// NMSIoU drops a detection whose box overlaps a better one by more (default 0.3).
	NMSIoU float64
	// Max caps the detections per frame (default 8).
	Max int
	// InputSize is the long side the frame is scaled to (default DetectorInputSize, as in
	// training; training zooms by 0.6-1.6, so 400-1000 stay within what it saw).
	InputSize int
}

func (o LearnedDetectorOptions) withDefaults() LearnedDetectorOptions {
	if o.Model == nil {
		o.Model = models.DetectorONNX()
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.3
	}
	if o.NMSIoU <= 0 {
		o.NMSIoU = 0.3
	}
	if o.Max <= 0 {
		o.Max = 8
	}
	if o.InputSize <= 0 {
		o.InputSize = DetectorInputSize
	}
	return o
}

// LearnedDetector finds plates with a small fully convolutional network (CenterNet-style) run
// by OpenCV DNN: the grey frame scaled so that its long side is DetectorInputSize, a
// plate-centre heatmap and the offsets of each plate's four corners per 4x4-pixel cell,
// decoded into oriented regions. It does not know the character band (HasBand false), so the
// reader crops the whole plate. It owns its network and scratch Mats: one per worker
// goroutine.
type LearnedDetector struct {
	opt   LearnedDetectorOptions
	net   gocv.Net
	small gocv.Mat
	blob  gocv.Mat
	bw    int // blob width and height
	bh    int
	dets  []Detection
}

var _ Detector = (*LearnedDetector)(nil)

// NewLearnedDetector loads the network.
func NewLearnedDetector(opt LearnedDetectorOptions) (*LearnedDetector, error) {
	opt = opt.withDefaults()
	// OpenCV aborts the process on bytes it cannot parse: refuse what is plainly not an ONNX
	// model (a protobuf ModelProto starts with its ir_version, field 1, a varint: tag 0x08).
	if len(opt.Model) < 16 || opt.Model[0] != 0x08 {
		return nil, fmt.Errorf("ocr: learned detector: the model (%d bytes) is not an ONNX file", len(opt.Model))
	}
	net, err := gocv.ReadNetFromONNXBytes(opt.Model)
	if err != nil {
		return nil, fmt.Errorf("ocr: learned detector: loading the ONNX model: %w", err)
	}
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("ocr: learned detector: the ONNX model has no layers")
	}
	return &LearnedDetector{opt: opt, net: net, small: gocv.NewMat(), blob: gocv.NewMat()}, nil
}

// Close frees the network and the scratch Mats.
func (d *LearnedDetector) Close() error {
	d.small.Close()
	d.blob.Close()
	return d.net.Close()
}

// Detect implements [Detector].
func (d *LearnedDetector) Detect(grey gocv.Mat) []Detection {
	d.dets = d.dets[:0]
	w, h := grey.Cols(), grey.Rows()
	if grey.Empty() || grey.Type() != gocv.MatTypeCV8UC1 {
		return d.dets
	}
	s := float64(d.opt.InputSize) / float64(max(w, h))
	sw, sh := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	interp := gocv.InterpolationArea
	if s > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(grey, &d.small, image.Pt(sw, sh), 0, 0, interp)
	if err := d.fill(sw, sh); err != nil {
		return d.dets
	}
	d.net.SetInput(d.blob, "")
	out := d.net.Forward("")
	defer out.Close()
	maps, err := out.DataPtrFloat32()
	sz := out.Size()
	if err != nil || len(sz) != 4 || sz[1] != models.DetectorChannels {
		return d.dets
	}
	// Scale from input pixels back to the frame's.
	fx, fy := float64(w)/float64(sw), float64(h)/float64(sh)
	d.decode(maps, sz[3], sz[2], fx, fy, image.Rect(0, 0, w, h))
	return d.dets
}

// fill writes the scaled frame into the input blob, padded by edge replication to multiples of
// models.DetectorAlign, as in training.
func (d *LearnedDetector) fill(sw, sh int) error {
	a := models.DetectorAlign
	bw, bh := (sw+a-1)/a*a, (sh+a-1)/a*a
	if d.bw != bw || d.bh != bh {
		d.blob.Close()
		d.blob = gocv.NewMatWithSizes([]int{1, 1, bh, bw}, gocv.MatTypeCV32F)
		d.bw, d.bh = bw, bh
	}
	dst, err := d.blob.DataPtrFloat32()
	if err != nil {
		return err
	}
	src, err := d.small.DataPtrUint8()
	if err != nil {
		return err
	}
	var lut [256]float32
	for i := range lut {
		lut[i] = models.DetectorInput(byte(i))
	}
	step := d.small.Step()
	for y := range bh {
		row := src[min(y, sh-1)*step:]
		out := dst[y*bw : (y+1)*bw]
		for x := range sw {
			out[x] = lut[row[x]]
		}
		for x := sw; x < bw; x++ {
			out[x] = out[sw-1]
		}
	}
	return nil
}

// decode turns the output maps (cw x ch cells) into detections: 3x3 local maxima of the
// heatmap over the threshold, their corners mapped to the frame (scale fx, fy), then NMS.
func (d *LearnedDetector) decode(maps []float32, cw, ch int, fx, fy float64, frame image.Rectangle) {
	thr := float32(math.Log(d.opt.Threshold / (1 - d.opt.Threshold))) // on logits
	heat := maps[:cw*ch]
	for i := range ch {
		for j := range cw {
			v := heat[i*cw+j]
			if v <= thr || !localMax(heat, cw, ch, j, i) {
				continue
			}
			var q [4][2]float64
			for k := range 4 {
				ox := float64(maps[(1+2*k)*cw*ch+i*cw+j]) * models.DetectorCornerUnit
				oy := float64(maps[(2+2*k)*cw*ch+i*cw+j]) * models.DetectorCornerUnit
				q[k] = [2]float64{(float64(j*models.DetectorStride) + 2 + ox) * fx, (float64(i*models.DetectorStride) + 2 + oy) * fy}
			}
			det, ok := quadDetection(q, frame)
			if !ok {
				continue
			}
			det.Score = 1 / (1 + math.Exp(-float64(v)))
			d.dets = append(d.dets, det)
		}
	}
	slices.SortFunc(d.dets, func(a, b Detection) int { return cmp.Compare(b.Score, a.Score) })
	d.dets = nmsDetections(d.dets, d.opt.NMSIoU, d.opt.Max)
}

func localMax(heat []float32, cw, ch, j, i int) bool {
	v := heat[i*cw+j]
	for y := max(0, i-1); y <= min(ch-1, i+1); y++ {
		for x := max(0, j-1); x <= min(cw-1, j+1); x++ {
			if o := heat[y*cw+x]; o > v || (o == v && y*cw+x < i*cw+j) {
				return false
			}
		}
	}
	return true
}

// quadDetection fits a Region to corners TL, TR, BR, BL: centre, mean edge lengths, the mean
// direction of the top and bottom edges.
func quadDetection(q [4][2]float64, frame image.Rectangle) (Detection, bool) {
	dist := func(a, b [2]float64) float64 { return math.Hypot(b[0]-a[0], b[1]-a[1]) }
	w := (dist(q[0], q[1]) + dist(q[3], q[2])) / 2
	h := (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
	if w < 4 || h < 2 {
		return Detection{}, false
	}
	dx := q[1][0] - q[0][0] + q[2][0] - q[3][0]
	dy := q[1][1] - q[0][1] + q[2][1] - q[3][1]
	g := Region{
		CX: (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4, CY: (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4,
		Width: w, Height: h, Angle: math.Atan2(dy, dx) * 180 / math.Pi,
	}
	box := g.Bounds().Intersect(frame)
	if box.Empty() {
		return Detection{}, false
	}
	return Detection{Box: box, Plate: g}, true
}

// nmsDetections keeps, best first, the detections whose box overlaps no kept one by more than
// maxIoU, at most n of them; dets must be sorted best first. It filters in place.
func nmsDetections(dets []Detection, maxIoU float64, n int) []Detection {
	kept := dets[:0]
	for _, c := range dets {
		if len(kept) >= n {
			break
		}
		if !overlapsKept(kept, c.Box, maxIoU) {
			kept = append(kept, c)
		}
	}
	return kept
}

func overlapsKept(kept []Detection, b image.Rectangle, maxIoU float64) bool {
	for _, k := range kept {
		if iou(k.Box, b) > maxIoU {
			return true
		}
	}
	return false
}

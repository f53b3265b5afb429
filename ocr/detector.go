package ocr

import (
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Detector proposes the regions of a grey frame that may hold a plate. A FrameReader
// reads the best of them (FrameReaderOptions.ReadBudget) and drops what does not read
// as a plate, so a detector may propose more than it is sure of; it should rank real
// plates first. The classical [Locator] is the first implementation; a learned
// detector fits beside it without touching the pipeline.
//
// A Detector owns its scratch memory: one per worker goroutine, not safe for
// concurrent use.
type Detector interface {
	// Detect returns candidate regions in grey (8-bit, one channel), best first. The
	// slice may be reused by the next call.
	Detect(grey gocv.Mat) []Detection
	Close() error
}

// Detection is one candidate plate region.
type Detection struct {
	// Box is the plate in frame pixels, axis-aligned.
	Box image.Rectangle
	// Plate is the whole plate, oriented: its four corners ([Region.Corners]) are what
	// the rectifier maps onto an upright crop.
	Plate Region
	// Band is the plate's character row (zero Width when the detector does not know
	// it). HasBand says the band holds the whole row: the reader then crops it tightly
	// (CropAuto), as the recognizer was trained, rather than the whole plate.
	Band    Region
	HasBand bool
	// Stacked says the plate has two character rows of the same height (a stacked
	// plate), Rows[0] above Rows[1]; the reader reads each and joins the texts, top first.
	Stacked bool
	Rows    [2]Region
	// Outline is the other detector's whole plate where two detectors found the same plate
	// ([NewAgreeDetector]; zero Width otherwise). The reader also reads it, cut as given,
	// where the crop of this detection's own geometry gives no read or is a short row's
	// (HasBand false), and keeps the more confident read.
	Outline Region
	// Score ranks detections of one frame; higher is more plate-like.
	Score float64
}

// Corners returns the region's corners in frame pixels: top-left, top-right,
// bottom-right, bottom-left of the upright region.
func (g Region) Corners() [4]image.Point {
	sin, cos := math.Sincos(g.Angle * math.Pi / 180)
	var out [4]image.Point
	for i, s := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		dx, dy := s[0]*g.Width/2, s[1]*g.Height/2
		out[i] = image.Pt(int(math.Round(g.CX+dx*cos-dy*sin)), int(math.Round(g.CY+dx*sin+dy*cos)))
	}
	return out
}

// fullRowChars is the shortest character row the Locator takes for a plate's whole
// text (US and Mexican serials have 5 to 8 characters); a shorter row is most often a
// row whose end characters were missed, so the reader crops the whole plate loosely
// around it instead.
const fullRowChars = 5

// Detect implements [Detector] with [Locator.Locate].
func (l *Locator) Detect(grey gocv.Mat) []Detection {
	cands := l.Locate(grey)
	l.dets = l.dets[:0]
	for _, c := range cands {
		l.dets = append(l.dets, c.Detection())
	}
	return l.dets
}

// Detection describes the candidate as a [Detector] result.
func (c PlateCandidate) Detection() Detection {
	d := Detection{Box: c.Box, Plate: c.PlateRegion(), Band: c.BandRegion(), HasBand: c.Chars >= fullRowChars, Score: c.Score}
	if c.Stack != nil {
		d.Stacked = true
		d.Rows = [2]Region{d.Band, c.Stack.BandRegion()}
		if d.Rows[1].CY < d.Rows[0].CY {
			d.Rows[0], d.Rows[1] = d.Rows[1], d.Rows[0]
		}
	}
	return d
}

var _ Detector = (*Locator)(nil)

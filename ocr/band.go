package ocr

import (
	"image"
	"slices"

	"gocv.io/x/gocv"
)

// Text-band finder parameters, relative to the working height bandHeight.
const (
	bandHeight    = 64  // crops are scaled to this height before analysis
	bandMaxWidth  = 320 // and at most this width
	bandMinChars  = 3   // components needed to accept a row
	bandPadY      = 0.3 // padding above and below the band, in band heights
	bandBlockSize = 31  // adaptive threshold window (odd)
	bandThreshC   = 7
)

// bandFinder locates the row of characters inside a plate crop: it binarizes
// the crop in both polarities, keeps character-like connected components
// (tall, narrow, moderately filled) and picks the largest group of
// components of similar height on one line. The recognizer was trained on
// band crops with the same generous, random margins, so the band need not
// be exact. It owns its scratch Mats.
type bandFinder struct {
	small, bin, labels, stats, cents gocv.Mat
	comps                            []bandComp
}

type bandComp struct {
	r  image.Rectangle
	cy int
}

func newBandFinder() *bandFinder {
	return &bandFinder{small: gocv.NewMat(), bin: gocv.NewMat(), labels: gocv.NewMat(), stats: gocv.NewMat(), cents: gocv.NewMat()}
}

func (b *bandFinder) Close() {
	b.small.Close()
	b.bin.Close()
	b.labels.Close()
	b.stats.Close()
	b.cents.Close()
}

// find returns the padded character band of grey (8-bit, one channel) in
// grey's coordinates, or false when no row of characters is found.
func (b *bandFinder) find(grey gocv.Mat) (image.Rectangle, bool) {
	W, H := grey.Cols(), grey.Rows()
	if W < 8 || H < 4 {
		return image.Rectangle{}, false
	}
	sh := bandHeight
	sw := max(8, min(bandMaxWidth, W*sh/H))
	gocv.Resize(grey, &b.small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
	var best []bandComp
	for _, typ := range []gocv.ThresholdType{gocv.ThresholdBinaryInv, gocv.ThresholdBinary} {
		gocv.AdaptiveThreshold(b.small, &b.bin, 255, gocv.AdaptiveThresholdMean, typ, bandBlockSize, bandThreshC)
		n := gocv.ConnectedComponentsWithStats(b.bin, &b.labels, &b.stats, &b.cents)
		b.comps = b.comps[:0]
		for i := 1; i < n; i++ {
			x, y := int(b.stats.GetIntAt(i, 0)), int(b.stats.GetIntAt(i, 1))
			w, h := int(b.stats.GetIntAt(i, 2)), int(b.stats.GetIntAt(i, 3))
			area := int(b.stats.GetIntAt(i, 4))
			if h < sh/4 || h > sh*9/10 || w*10 > h*11 || w*12 < h || area*100 < w*h*15 || area*100 > w*h*95 {
				continue
			}
			b.comps = append(b.comps, bandComp{r: image.Rect(x, y, x+w, y+h), cy: y + h/2})
		}
		if g := b.bestRow(); len(g) > len(best) {
			best = slices.Clone(g)
		}
	}
	if len(best) < bandMinChars {
		return image.Rectangle{}, false
	}
	var u image.Rectangle
	for _, c := range best {
		u = u.Union(c.r)
	}
	// The band keeps the crop's full width: characters merged with a frame
	// or a graphic are often missed by the component filter, and cutting
	// one off costs the whole reading, while a wide band costs nothing (the
	// network was trained on bands with wide margins).
	py := int(bandPadY * float64(u.Dy()))
	u = image.Rect(0, u.Min.Y-py, sw, u.Max.Y+py).Intersect(image.Rect(0, 0, sw, sh))
	// back to the crop's coordinates
	fx, fy := float64(W)/float64(sw), float64(H)/float64(sh)
	r := image.Rect(int(float64(u.Min.X)*fx), int(float64(u.Min.Y)*fy), int(float64(u.Max.X)*fx+0.999), int(float64(u.Max.Y)*fy+0.999))
	r = r.Intersect(image.Rect(0, 0, W, H))
	if r.Dx() < MinCropWidth || r.Dy() < MinCropHeight {
		return image.Rectangle{}, false
	}
	return r, true
}

// bestRow returns the largest set of components of similar height whose
// centres lie on one line.
func (b *bandFinder) bestRow() []bandComp {
	var best []bandComp
	var bestH int
	for _, s := range b.comps {
		hs := s.r.Dy()
		var row []bandComp
		for _, c := range b.comps {
			h := c.r.Dy()
			if abs(h-hs)*4 <= hs && abs(c.cy-s.cy)*10 <= hs*3 {
				row = append(row, c)
			}
		}
		if len(row) > len(best) || (len(row) == len(best) && hs > bestH) {
			best, bestH = row, hs
		}
	}
	return best
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

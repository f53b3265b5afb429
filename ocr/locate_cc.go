package ocr

import (
	"bytes"
	"image"
)

// component is a connected region of a binary mask: bounding box and pixel count.
type component struct {
	box  image.Rectangle
	area int
}

// labeler finds 8-connected components of set pixels in a binary mask by run-length
// labelling: rows are scanned for runs (bytes.IndexByte skips the empty stretches quickly),
// runs that touch runs of the row above are merged with union-find. On the sparse edge masks of
// the coarse pass this is several times faster than a per-pixel labelling. Its buffers are
// reused between calls.
type labeler struct {
	runs   []lrun
	parent []int32
	comps  []component
	index  []int32 // root run -> component index + 1
}

type lrun struct {
	y, x0, x1 int32 // [x0, x1)
}

// components returns the components of mask (w x h, stride w, 255 = set, 0 = clear, as
// OpenCV's threshold and morphology write it). The slice is reused by the next call.
func (lb *labeler) components(mask []byte, w, h int) []component {
	lb.runs, lb.parent, lb.comps = lb.runs[:0], lb.parent[:0], lb.comps[:0]
	prevStart, prevEnd := 0, 0 // runs of the previous row: lb.runs[prevStart:prevEnd]
	for y := 0; y < h; y++ {
		row := mask[y*w : (y+1)*w]
		curStart := len(lb.runs)
		p := prevStart
		for x := 0; x < w; {
			i := bytes.IndexByte(row[x:], 255)
			if i < 0 {
				break
			}
			x0 := x + i
			j := bytes.IndexByte(row[x0:], 0)
			x1 := w
			if j >= 0 {
				x1 = x0 + j
			}
			id := int32(len(lb.runs))
			lb.runs = append(lb.runs, lrun{int32(y), int32(x0), int32(x1)})
			lb.parent = append(lb.parent, id)
			// 8-connectivity: a run above touches [x0-1, x1+1).
			for p < prevEnd && int(lb.runs[p].x1) < x0 {
				p++
			}
			for q := p; q < prevEnd && int(lb.runs[q].x0) <= x1; q++ {
				lb.union(id, int32(q))
			}
			x = x1
		}
		prevStart, prevEnd = curStart, len(lb.runs)
	}
	if cap(lb.index) < len(lb.runs) {
		lb.index = make([]int32, len(lb.runs))
	}
	lb.index = lb.index[:len(lb.runs)]
	clear(lb.index)
	for i, r := range lb.runs {
		root := lb.find(int32(i))
		box := image.Rect(int(r.x0), int(r.y), int(r.x1), int(r.y)+1)
		if k := lb.index[root]; k > 0 {
			c := &lb.comps[k-1]
			c.box = c.box.Union(box)
			c.area += int(r.x1 - r.x0)
			continue
		}
		lb.comps = append(lb.comps, component{box: box, area: int(r.x1 - r.x0)})
		lb.index[root] = int32(len(lb.comps))
	}
	return lb.comps
}

func (lb *labeler) find(i int32) int32 {
	for lb.parent[i] != i {
		lb.parent[i] = lb.parent[lb.parent[i]]
		i = lb.parent[i]
	}
	return i
}

func (lb *labeler) union(a, b int32) {
	ra, rb := lb.find(a), lb.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		lb.parent[rb] = ra
	} else {
		lb.parent[ra] = rb
	}
}

package ocr

import (
	"fmt"
	"slices"

	"gocv.io/x/gocv"
)

// DetectorKind names a [Detector] implementation (LPRD_DETECTOR, lprlab -detector).
type DetectorKind string

// The detector kinds.
const (
	// DetectorClassical is the [Locator]: character rows found by thresholds and connected
	// components.
	DetectorClassical DetectorKind = "classical"
	// DetectorLearned is the [LearnedDetector].
	DetectorLearned DetectorKind = "learned"
	// DetectorBoth proposes the learned detector's regions first, then the classical
	// localizer's that overlap none of them.
	DetectorBoth DetectorKind = "both"
	// DetectorAgree runs both: the regions both found first (the classical localizer's
	// region of each), then the classical regions and the learned ones that overlap none of
	// them, alternately, classical first ([NewAgreeDetector]).
	DetectorAgree DetectorKind = "agree"
	// DefaultDetector is the kind used when none is given: the one that read best on the
	// rendered validation frames (lprlab evalsynth, day and IR), confirmed on the dev photos
	// (see README.md, "Plate detector").
	DefaultDetector = DetectorAgree
)

// ParseDetectorKind parses a detector name; empty means DefaultDetector.
func ParseDetectorKind(s string) (DetectorKind, error) {
	switch k := DetectorKind(s); k {
	case "":
		return DefaultDetector, nil
	case DetectorClassical, DetectorLearned, DetectorBoth, DetectorAgree:
		return k, nil
	}
	return "", fmt.Errorf("ocr: detector %q: want classical, learned, both or agree", s)
}

// NewDetector builds a detector of a kind ("" is DefaultDetector); loc tunes the classical
// localizer.
func NewDetector(kind DetectorKind, loc LocateOptions) (Detector, error) {
	kind, err := ParseDetectorKind(string(kind))
	if err != nil {
		return nil, err
	}
	if kind == DetectorClassical {
		return NewLocator(loc), nil
	}
	l, err := NewLearnedDetector(LearnedDetectorOptions{})
	if err != nil {
		return nil, err
	}
	if kind == DetectorLearned {
		return l, nil
	}
	if kind == DetectorAgree {
		return NewAgreeDetector(NewLocator(loc), l), nil
	}
	return NewUnionDetector(l, NewLocator(loc)), nil
}

// NewUnionDetector proposes first's detections, then those of then that overlap none of
// them (box IoU over 0.3). It owns both.
func NewUnionDetector(first, then Detector) Detector {
	return &unionDetector{first: first, then: then}
}

// unionDetector proposes first's detections, then those of then that overlap none of them.
type unionDetector struct {
	first, then Detector
	dets        []Detection
}

// unionIoU: a classical region overlapping a learned one by more is the same plate.
const unionIoU = 0.3

func (u *unionDetector) Detect(grey gocv.Mat) []Detection {
	u.dets = append(u.dets[:0], u.first.Detect(grey)...)
	n := len(u.dets)
	for _, d := range u.then.Detect(grey) {
		if !overlapsKept(u.dets[:n], d.Box, unionIoU) {
			u.dets = append(u.dets, d)
		}
	}
	return u.dets
}

func (u *unionDetector) Close() error {
	u.first.Close()
	return u.then.Close()
}

// NewAgreeDetector proposes first the regions that both detectors found (as primary gives
// them, in its order, with other's plate as their Outline), then primary's other regions
// and other's regions that overlap none of primary's, alternately, primary's first. It
// owns both.
func NewAgreeDetector(primary, other Detector) Detector {
	return &agreeDetector{primary: primary, other: other}
}

// agreeDetector ranks a region that two independent detectors propose above one that only
// one of them does.
type agreeDetector struct {
	primary, other Detector
	dets, alone    []Detection
	others         []Detection
}

// agreeShare is how much of the smaller of two boxes must lie in the other for both
// detectors to have found the same plate: the classical box may be the character row
// inside the network's whole-plate box, so IoU would miss them; not tuned.
const agreeShare = 0.5

func (u *agreeDetector) Detect(grey gocv.Mat) []Detection {
	p := u.primary.Detect(grey)
	u.others = append(u.others[:0], u.other.Detect(grey)...)
	u.dets, u.alone = u.dets[:0], u.alone[:0]
	for _, d := range p {
		if k := slices.IndexFunc(u.others, func(x Detection) bool { return overlapShare(d.Box, x.Box) > agreeShare }); k >= 0 {
			d.Outline = u.others[k].Plate
			u.dets = append(u.dets, d)
		} else {
			u.alone = append(u.alone, d)
		}
	}
	rest := slices.DeleteFunc(u.others, func(x Detection) bool {
		return slices.ContainsFunc(p, func(d Detection) bool {
			return overlapShare(d.Box, x.Box) > agreeShare || iou(d.Box, x.Box) > unionIoU
		})
	})
	for i := 0; i < len(u.alone) || i < len(rest); i++ {
		if i < len(u.alone) {
			u.dets = append(u.dets, u.alone[i])
		}
		if i < len(rest) {
			u.dets = append(u.dets, rest[i])
		}
	}
	return u.dets
}

func (u *agreeDetector) Close() error {
	u.primary.Close()
	return u.other.Close()
}

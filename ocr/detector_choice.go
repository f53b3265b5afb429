package ocr

import (
	"fmt"

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
	// DefaultDetector is the kind used when none is given: the one that measured better on
	// the synthetic validation frames and the held-out scenes-ro rides (see README.md).
	DefaultDetector = DetectorClassical
)

// ParseDetectorKind parses a detector name; empty means DefaultDetector.
func ParseDetectorKind(s string) (DetectorKind, error) {
	switch k := DetectorKind(s); k {
	case "":
		return DefaultDetector, nil
	case DetectorClassical, DetectorLearned, DetectorBoth:
		return k, nil
	}
	return "", fmt.Errorf("ocr: detector %q: want classical, learned or both", s)
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

package models

import _ "embed"

//go:embed detector.onnx
var detectorONNX []byte

// DetectorONNX returns the embedded learned plate detector in ONNX format
// (see DETECTOR.md). The slice is shared: do not modify it.
func DetectorONNX() []byte { return detectorONNX }

// Geometry of the detector's input and output maps (scripts/train_detector.py).
const (
	// DetectorLongSide is the long side, in pixels, to which a frame is scaled.
	DetectorLongSide = 640
	// DetectorAlign: the input's width and height are padded to multiples of it.
	DetectorAlign = 32
	// DetectorStride is the size in input pixels of one output cell.
	DetectorStride = 4
	// DetectorChannels are the output maps: the plate-centre heatmap logit, then
	// the x, y offsets of the corners TL, TR, BR, BL from the cell's centre.
	DetectorChannels = 9
	// DetectorCornerUnit is the unit of the corner offsets, in input pixels.
	DetectorCornerUnit = 32
)

// DetectorInput maps a grey byte to the network's input value.
func DetectorInput(v byte) float32 { return (float32(v) - 127.5) / 64 }

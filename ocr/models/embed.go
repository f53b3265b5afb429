package models

import _ "embed"

//go:embed recognizer.onnx
var recognizerONNX []byte

// RecognizerONNX returns the embedded recognizer network in ONNX format. The
// slice is shared: do not modify it.
func RecognizerONNX() []byte { return recognizerONNX }

//go:embed recognizer_calib.u8
var recognizerCalib []byte

// RecognizerCalibration returns the crops on which the recognizer's activations are
// calibrated when its network is quantized to 8-bit integers: 64 crops of InputHeight x
// InputWidth grey pixels, prepared (Prepare) but not normalized, that the reader's detector
// and rectifier cut from rendered frames over the training rides of scenes-ro (`lprlab
// gencrops -n 64 -seed 5`; 58 of plates, 6 of no plate). They hold rendered plates and road
// backgrounds, no real plate. The slice is shared: do not modify it.
func RecognizerCalibration() []byte { return recognizerCalib }

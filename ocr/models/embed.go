package models

import _ "embed"

//go:embed recognizer.onnx
var recognizerONNX []byte

// RecognizerONNX returns the embedded recognizer network in ONNX format. The
// slice is shared: do not modify it.
func RecognizerONNX() []byte { return recognizerONNX }

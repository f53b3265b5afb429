// Package models holds the plate recognizer's trained network and its input
// contract.
//
// The network (recognizer.onnx, embedded with go:embed) is a conv-only CTC
// model trained by scripts/train-ocr on synthetic plates from ocr/synth. It
// takes a 1x1xInputHeightxInputWidth float blob and returns raw logits of
// shape 1 x Classes x 1 x Steps; class 0 is the CTC blank and class i > 0 is
// Alphabet[i-1]. Prepare and Normalize turn a plate crop into that blob; the
// training data generator calls the same Prepare so that the network sees at
// the lane exactly what it saw in training. See README.md for the model card.
//
// The learned plate detector (detector.onnx, DetectorONNX) is a CenterNet-style
// fully convolutional network trained by scripts/train-detector: a grey frame
// scaled to a long side of DetectorLongSide, padded to multiples of
// DetectorAlign and mapped by DetectorInput, in; DetectorChannels maps of
// 1/DetectorStride resolution out (a plate-centre logit and the four corners'
// offsets in DetectorCornerUnit pixels). Its model card is DETECTOR.md.
package models

package models

import "math"

// Input geometry and output classes of the embedded network.
const (
	InputWidth  = 128
	InputHeight = 32
	// Steps is the number of CTC time steps (columns of the output map).
	Steps = 32
	// Alphabet lists the characters of classes 1..len(Alphabet); class 0 is
	// the CTC blank.
	Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Classes  = len(Alphabet) + 1
)

// minStd keeps Normalize from amplifying noise on flat (empty) crops.
const minStd = 8

// Normalize converts a prepared grey image (InputWidth*InputHeight bytes) to
// the network input: zero mean and unit standard deviation per image, which
// makes the network indifferent to exposure and contrast. scripts/train_ocr.py
// does the same in training.
func Normalize(pix []byte, out []float32) {
	n := len(pix)
	if n == 0 {
		return
	}
	var sum, sq float64
	for _, p := range pix {
		v := float64(p)
		sum += v
		sq += v * v
	}
	mean := sum / float64(n)
	std := math.Sqrt(math.Max(sq/float64(n)-mean*mean, 0))
	inv := 1 / math.Max(std, minStd)
	for i, p := range pix {
		out[i] = float32((float64(p) - mean) * inv)
	}
}

// Package ctc decodes the output of a CTC (connectionist temporal
// classification) recognizer into text with confidences.
//
// A recognizer emits, for each of T time steps, a probability for each of C
// classes; class 0 is the blank and class i > 0 is alphabet[i-1]. A text is
// read by collapsing repeated classes and dropping blanks ("AA-B" reads "AB").
// Greedy takes the most likely class at each step; Beam runs a prefix beam
// search that sums the probabilities of all alignments of a text, which gives
// calibrated confidences and a ranked list of alternatives for format rules
// and multi-frame fusion. Align gives per-character confidences for any text.
//
// The package is cgo-free and allocation-light; inputs are validated, and
// malformed sizes return errors instead of panicking.
package ctc

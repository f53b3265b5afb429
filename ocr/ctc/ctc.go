package ctc

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Probs holds per-step class probabilities, row-major: P[t*Classes+c].
type Probs struct {
	Steps, Classes int
	P              []float32
}

// ErrShape reports inconsistent sizes.
var ErrShape = errors.New("ctc: inconsistent shape")

func (p Probs) check(alphabet string) error {
	if p.Steps <= 0 || p.Classes < 2 || len(p.P) != p.Steps*p.Classes {
		return fmt.Errorf("%w: %d steps x %d classes, %d values", ErrShape, p.Steps, p.Classes, len(p.P))
	}
	if len(alphabet) != p.Classes-1 {
		return fmt.Errorf("%w: alphabet of %d for %d classes", ErrShape, len(alphabet), p.Classes)
	}
	return nil
}

// Softmax converts raw logits laid out class-major (C x T, as a conv network
// emits N x C x 1 x T) into step-major probabilities in dst, which it grows as
// needed and returns.
func Softmax(logits []float32, classes, steps int, dst Probs) (Probs, error) {
	if classes < 2 || steps <= 0 || len(logits) != classes*steps {
		return dst, fmt.Errorf("%w: %d logits for %d classes x %d steps", ErrShape, len(logits), classes, steps)
	}
	dst.Steps, dst.Classes = steps, classes
	if cap(dst.P) < classes*steps {
		dst.P = make([]float32, classes*steps)
	}
	dst.P = dst.P[:classes*steps]
	for t := range steps {
		m := float32(math.Inf(-1))
		for c := range classes {
			m = max(m, logits[c*steps+t])
		}
		var sum float64
		row := dst.P[t*classes : (t+1)*classes]
		for c := range classes {
			e := math.Exp(float64(logits[c*steps+t] - m))
			row[c] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		for c := range row {
			row[c] *= inv
		}
	}
	return dst, nil
}

// Fold moves the probability of character from into character into at every
// step, so that decoding treats the two as one character written as into:
// a text's probability becomes the sum over both spellings of that
// character. Both must be in alphabet, the alphabet of p's classes 1..n.
func (p Probs) Fold(alphabet string, from, into byte) error {
	if err := p.check(alphabet); err != nil {
		return err
	}
	f, i := strings.IndexByte(alphabet, from), strings.IndexByte(alphabet, into)
	if f < 0 || i < 0 {
		return fmt.Errorf("ctc: fold %q into %q: not both in the alphabet %q", from, into, alphabet)
	}
	if f == i {
		return nil
	}
	for t := range p.Steps {
		row := p.P[t*p.Classes : (t+1)*p.Classes]
		row[i+1] += row[f+1]
		row[f+1] = 0
	}
	return nil
}

// Reading is a decoded text.
type Reading struct {
	Text string
	// Confidence is the probability the model gives the text (summed over
	// alignments for Beam, the best path's for Greedy), in 0..1.
	Confidence float32
	// CharConf holds one confidence per character of Text.
	CharConf []float32
}

// Greedy decodes the most likely class at each step.
func Greedy(p Probs, alphabet string) (Reading, error) {
	if err := p.check(alphabet); err != nil {
		return Reading{}, err
	}
	var sb strings.Builder
	var conf []float32
	pathP := 1.0
	prev := 0
	for t := range p.Steps {
		row := p.P[t*p.Classes : (t+1)*p.Classes]
		best := 0
		for c := 1; c < len(row); c++ {
			if row[c] > row[best] {
				best = c
			}
		}
		pathP *= float64(row[best])
		switch {
		case best == 0:
		case best != prev:
			sb.WriteByte(alphabet[best-1])
			conf = append(conf, row[best])
		default: // same character continues: keep its best step
			conf[len(conf)-1] = max(conf[len(conf)-1], row[best])
		}
		prev = best
	}
	return Reading{Text: sb.String(), Confidence: float32(pathP), CharConf: conf}, nil
}

// Candidate is one text of a beam search with its probability.
type Candidate struct {
	Text       string
	Confidence float32
}

// minClassProb skips classes that cannot change the ranking; it keeps the
// beam search fast on peaked outputs.
const minClassProb = 1e-3

// MaxBeamSteps is the most time steps Beam accepts; prefixes are fixed-size
// arrays so that the search does not allocate per extension.
const MaxBeamSteps = 64

type prefix struct {
	b [MaxBeamSteps]byte
	n uint8
}

func (p prefix) last() (byte, bool) {
	if p.n == 0 {
		return 0, false
	}
	return p.b[p.n-1], true
}

func (p prefix) with(ch byte) prefix {
	p.b[p.n] = ch
	p.n++
	return p
}

type beamEntry struct {
	text    prefix
	pb, pnb float64 // ending in blank, ending in the last character
}

func (e beamEntry) total() float64 { return e.pb + e.pnb }

// Beam runs a CTC prefix beam search of the given width and returns up to
// topN texts, most probable first. At each step it considers the few most
// probable characters (see maxClassesPerStep), so confidences are slight
// underestimates on very flat outputs. The empty text is returned only when
// it ranks among the topN.
func Beam(p Probs, alphabet string, width, topN int) ([]Candidate, error) {
	if err := p.check(alphabet); err != nil {
		return nil, err
	}
	if p.Steps > MaxBeamSteps {
		return nil, fmt.Errorf("%w: %d steps, beam search takes at most %d", ErrShape, p.Steps, MaxBeamSteps)
	}
	if width < 1 || topN < 1 {
		return nil, fmt.Errorf("ctc: beam width %d and topN %d must be positive", width, topN)
	}
	beams := make([]beamEntry, 1, width)
	beams[0].pb = 1
	next := make([]beamEntry, 0, width*(1+maxClassesPerStep))
	index := make(map[prefix]int, cap(next))
	classes := make([]int, 0, maxClassesPerStep)
	add := func(text prefix, pb, pnb float64) {
		if i, ok := index[text]; ok {
			next[i].pb += pb
			next[i].pnb += pnb
			return
		}
		index[text] = len(next)
		next = append(next, beamEntry{text: text, pb: pb, pnb: pnb})
	}
	for t := range p.Steps {
		row := p.P[t*p.Classes : (t+1)*p.Classes]
		classes = stepClasses(row, classes)
		next = next[:0]
		clear(index)
		for _, e := range beams {
			tot := e.total()
			add(e.text, tot*float64(row[0]), 0)
			last, ok := e.text.last()
			for _, c := range classes {
				pc := float64(row[c])
				ch := alphabet[c-1]
				if ok && last == ch {
					// a repeat without a blank collapses; after a blank it extends
					add(e.text, 0, e.pnb*pc)
					add(e.text.with(ch), 0, e.pb*pc)
				} else {
					add(e.text.with(ch), 0, tot*pc)
				}
			}
		}
		topBeams(next, width)
		beams = append(beams[:0], next[:min(width, len(next))]...)
	}
	topBeams(beams, topN)
	out := make([]Candidate, 0, min(topN, len(beams)))
	for _, e := range beams[:min(topN, len(beams))] {
		out = append(out, Candidate{Text: string(e.text.b[:e.text.n]), Confidence: float32(e.total())})
	}
	return out, nil
}

// maxClassesPerStep bounds the characters a prefix is extended with at one
// step, so that flat (uncertain) outputs cost no more than peaked ones.
const maxClassesPerStep = 4

// stepClasses returns the non-blank classes of row worth extending with: the
// most probable ones, at most maxClassesPerStep, each at least minClassProb.
func stepClasses(row []float32, dst []int) []int {
	dst = dst[:0]
	for c := 1; c < len(row); c++ {
		if row[c] < minClassProb {
			continue
		}
		if len(dst) < maxClassesPerStep {
			dst = append(dst, c)
			continue
		}
		// replace the weakest kept class if this one is stronger
		w := 0
		for i := range dst {
			if row[dst[i]] < row[dst[w]] {
				w = i
			}
		}
		if row[c] > row[dst[w]] {
			dst[w] = c
		}
	}
	return dst
}

// topBeams moves the k most probable entries, in order, to the front of b
// (ties broken by text for determinism). It is a partial selection sort:
// k is small.
func topBeams(b []beamEntry, k int) {
	better := func(x, y beamEntry) bool {
		if x.total() != y.total() {
			return x.total() > y.total()
		}
		return string(x.text.b[:x.text.n]) < string(y.text.b[:y.text.n])
	}
	for i := 0; i < min(k, len(b)); i++ {
		m := i
		for j := i + 1; j < len(b); j++ {
			if better(b[j], b[m]) {
				m = j
			}
		}
		b[i], b[m] = b[m], b[i]
	}
}

// Align returns per-character confidences of text: the probability of each
// character at the step where the best (Viterbi) alignment of text emits it
// most strongly. It returns an error when text has characters outside the
// alphabet or cannot fit in the steps.
func Align(p Probs, alphabet, text string) ([]float32, error) {
	if err := p.check(alphabet); err != nil {
		return nil, err
	}
	if len(text) == 0 {
		return nil, nil
	}
	lab := make([]int, len(text))
	need := len(text)
	for i := range text {
		k := strings.IndexByte(alphabet, text[i])
		if k < 0 {
			return nil, fmt.Errorf("ctc: align: character %d not in the alphabet", i)
		}
		lab[i] = k + 1
		if i > 0 && text[i] == text[i-1] {
			need++ // a blank must separate repeats
		}
	}
	if need > p.Steps {
		return nil, fmt.Errorf("ctc: align: text of %d characters needs %d steps, have %d", len(text), need, p.Steps)
	}
	// Extended labels: blank, l1, blank, l2, ..., blank.
	S := 2*len(lab) + 1
	ext := make([]int, S)
	for i, l := range lab {
		ext[2*i+1] = l
	}
	logp := func(t, c int) float64 { return math.Log(math.Max(float64(p.P[t*p.Classes+c]), 1e-30)) }
	negInf := math.Inf(-1)
	score := make([]float64, S)
	back := make([][]int8, p.Steps) // 0: same state, 1: from s-1, 2: from s-2
	for s := range score {
		score[s] = negInf
	}
	score[0] = logp(0, ext[0])
	if S > 1 {
		score[1] = logp(0, ext[1])
	}
	back[0] = make([]int8, S)
	prev := make([]float64, S)
	for t := 1; t < p.Steps; t++ {
		copy(prev, score)
		back[t] = make([]int8, S)
		for s := range S {
			best, from := prev[s], int8(0)
			if s >= 1 && prev[s-1] > best {
				best, from = prev[s-1], 1
			}
			if s >= 2 && ext[s] != 0 && ext[s] != ext[s-2] && prev[s-2] > best {
				best, from = prev[s-2], 2
			}
			score[s] = best + logp(t, ext[s])
			back[t][s] = from
		}
	}
	s := S - 1
	if S > 1 && score[S-2] > score[S-1] {
		s = S - 2
	}
	if math.IsInf(score[s], -1) {
		return nil, fmt.Errorf("ctc: align: no alignment")
	}
	conf := make([]float32, len(lab))
	for t := p.Steps - 1; t >= 0; t-- {
		if ext[s] != 0 {
			i := (s - 1) / 2
			conf[i] = max(conf[i], p.P[t*p.Classes+ext[s]])
		}
		if t > 0 {
			s -= int(back[t][s])
		}
	}
	return conf, nil
}

// Prob returns the probability of text under p: the sum over every alignment
// of text (the CTC forward algorithm), the quantity the beam search estimates
// for its candidates. It lets a caller score a text the beam did not list (a
// format rule's repair of a reading). It returns 0 for a text with characters
// outside the alphabet or too long for the steps.
func Prob(p Probs, alphabet, text string) float64 {
	if p.check(alphabet) != nil {
		return 0
	}
	var labBuf [24]int
	lab := labBuf[:0]
	need := len(text)
	for i := range text {
		k := strings.IndexByte(alphabet, text[i])
		if k < 0 {
			return 0
		}
		lab = append(lab, k+1)
		if i > 0 && text[i] == text[i-1] {
			need++
		}
	}
	if need > p.Steps {
		return 0
	}
	// Extended labels blank, l1, blank, ..., blank; alpha in linear space,
	// rescaled per step (the scale's log is kept) so long texts do not underflow.
	S := 2*len(lab) + 1
	var aBuf, bBuf [65]float64 // enough for the recognizer's 32 steps
	alpha, next := aBuf[:0], bBuf[:0]
	if S > len(aBuf) {
		alpha, next = make([]float64, S), make([]float64, S)
	}
	alpha, next = alpha[:S], next[:S]
	label := func(s int) int {
		if s%2 == 0 {
			return 0
		}
		return lab[s/2]
	}
	row := func(t int) []float32 { return p.P[t*p.Classes : (t+1)*p.Classes] }
	alpha[0] = float64(row(0)[0])
	if S > 1 {
		alpha[1] = float64(row(0)[label(1)])
	}
	logScale := 0.0
	for t := 1; t < p.Steps; t++ {
		r := row(t)
		sum := 0.0
		for s := range S {
			a := alpha[s]
			if s >= 1 {
				a += alpha[s-1]
			}
			if s >= 2 && label(s) != 0 && label(s) != label(s-2) {
				a += alpha[s-2]
			}
			next[s] = a * float64(r[label(s)])
			sum += next[s]
		}
		if sum == 0 {
			return 0
		}
		for s := range S {
			next[s] /= sum
		}
		logScale += math.Log(sum)
		alpha, next = next, alpha
	}
	end := alpha[S-1]
	if S > 1 {
		end += alpha[S-2]
	}
	return end * math.Exp(logScale)
}

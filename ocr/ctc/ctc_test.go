package ctc

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

const abc = "ABC"

// probs builds step-major probabilities from rows of (class -> prob); missing
// mass goes to the blank.
func probs(rows ...map[int]float32) Probs {
	p := Probs{Steps: len(rows), Classes: len(abc) + 1, P: make([]float32, len(rows)*(len(abc)+1))}
	for t, r := range rows {
		var s float32
		for c, v := range r {
			p.P[t*p.Classes+c] = v
			s += v
		}
		p.P[t*p.Classes] += 1 - s
	}
	return p
}

// one is a step where class c has probability v.
func one(c int, v float32) map[int]float32 { return map[int]float32{c: v} }

func TestGreedy(t *testing.T) {
	tests := []struct {
		name string
		p    Probs
		want string
		conf []float32
	}{
		{"empty", probs(one(0, 1), one(0, 1)), "", nil},
		{"single", probs(one(1, 0.9), one(0, 1)), "A", []float32{0.9}},
		{"collapse repeats", probs(one(1, 0.6), one(1, 0.8), one(2, 0.7)), "AB", []float32{0.8, 0.7}},
		{"blank separates repeats", probs(one(1, 0.9), one(0, 1), one(1, 0.9)), "AA", []float32{0.9, 0.9}},
		{"all classes", probs(one(3, 0.9), one(2, 0.9), one(1, 0.9)), "CBA", []float32{0.9, 0.9, 0.9}},
	}
	for _, tt := range tests {
		r, err := Greedy(tt.p, abc)
		if err != nil {
			t.Fatalf("%s: Greedy: %v", tt.name, err)
		}
		if r.Text != tt.want || !slices.Equal(r.CharConf, tt.conf) {
			t.Errorf("%s: Greedy = %q %v; want %q %v", tt.name, r.Text, r.CharConf, tt.want, tt.conf)
		}
	}
}

func TestBeamSumsAlignments(t *testing.T) {
	// Greedy path reads "" (blank 0.6 at both steps), but "A" has
	// 1 - 0.6*0.6 = 0.64 over its three alignments, so the beam must rank it first.
	p := probs(one(1, 0.4), one(1, 0.4))
	g, _ := Greedy(p, abc)
	if g.Text != "" {
		t.Fatalf("Greedy = %q; want empty", g.Text)
	}
	c, err := Beam(p, abc, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c[0].Text != "A" || math.Abs(float64(c[0].Confidence)-0.64) > 1e-6 {
		t.Errorf("Beam top = %+v; want A 0.64", c[0])
	}
	if c[1].Text != "" || math.Abs(float64(c[1].Confidence)-0.36) > 1e-6 {
		t.Errorf("Beam second = %+v; want \"\" 0.36", c[1])
	}
}

func TestBeamAlternatives(t *testing.T) {
	p := probs(one(1, 0.95), map[int]float32{2: 0.6, 3: 0.39}, one(0, 1))
	c, err := Beam(p, abc, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || c[0].Text != "AB" || c[1].Text != "AC" {
		t.Fatalf("Beam = %+v; want AB then AC", c)
	}
	var sum float32
	all, _ := Beam(p, abc, 64, 64)
	for _, x := range all {
		sum += x.Confidence
	}
	if math.Abs(float64(sum)-1) > 1e-4 {
		t.Errorf("sum of all candidate probabilities = %v; want 1", sum)
	}
}

func TestAlign(t *testing.T) {
	p := probs(one(1, 0.7), one(1, 0.9), one(0, 1), one(2, 0.8))
	conf, err := Align(p, abc, "AB")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(conf, []float32{0.9, 0.8}) {
		t.Errorf("Align(AB) = %v; want [0.9 0.8]", conf)
	}
	if _, err := Align(p, abc, "AAAA"); err == nil {
		t.Error("Align(AAAA) on 4 steps: want an error (needs 7 steps)")
	}
	if _, err := Align(p, abc, "AZ"); err == nil {
		t.Error("Align(AZ): want an error for a character outside the alphabet")
	}
}

func TestSoftmax(t *testing.T) {
	// 2 classes x 3 steps, class-major.
	logits := []float32{0, 1, 2, 0, 0, 0}
	p, err := Softmax(logits, 2, 3, Probs{})
	if err != nil {
		t.Fatal(err)
	}
	for tt := range 3 {
		s := p.P[2*tt] + p.P[2*tt+1]
		if math.Abs(float64(s)-1) > 1e-6 {
			t.Errorf("step %d sums to %v", tt, s)
		}
	}
	if p.P[2*2] <= p.P[2*2+1] {
		t.Errorf("step 2: blank %v should beat class 1 %v", p.P[4], p.P[5])
	}
	if _, err := Softmax(logits, 4, 3, Probs{}); !errors.Is(err, ErrShape) {
		t.Errorf("Softmax with wrong size: err = %v; want ErrShape", err)
	}
}

func TestShapeErrors(t *testing.T) {
	bad := []Probs{{}, {Steps: 2, Classes: 4, P: make([]float32, 7)}, {Steps: 1, Classes: 3, P: make([]float32, 3)}}
	for _, p := range bad {
		if _, err := Greedy(p, abc); !errors.Is(err, ErrShape) {
			t.Errorf("Greedy(%d x %d, %d values) err = %v; want ErrShape", p.Steps, p.Classes, len(p.P), err)
		}
		if _, err := Beam(p, abc, 4, 4); !errors.Is(err, ErrShape) {
			t.Errorf("Beam(%d x %d, %d values) err = %v; want ErrShape", p.Steps, p.Classes, len(p.P), err)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name       string
		p          Probs
		from, into byte
		want       string  // Beam's best text after folding
		conf       float32 // and its probability
		err        bool
	}{
		// Neither B (0.35) nor C (0.25) beats A (0.4) at the middle step;
		// B folded into C reads C with the sum of both.
		{"fold wins", probs(one(0, 1), map[int]float32{1: 0.4, 2: 0.35, 3: 0.25}, one(0, 1)), 'B', 'C', "C", 0.6, false},
		{"fold into the weaker", probs(map[int]float32{1: 0.2, 2: 0.45, 3: 0.35}), 'C', 'A', "A", 0.55, false},
		{"same character", probs(one(1, 1)), 'A', 'A', "A", 1, false},
		{"from outside the alphabet", probs(one(1, 1)), 'Z', 'A', "", 0, true},
		{"into outside the alphabet", probs(one(1, 1)), 'A', 'Z', "", 0, true},
	}
	for _, tt := range tests {
		err := tt.p.Fold(abc, tt.from, tt.into)
		if (err != nil) != tt.err {
			t.Fatalf("%s: Fold error %v; want error %v", tt.name, err, tt.err)
		}
		if err != nil {
			continue
		}
		var sum float32
		for _, v := range tt.p.P {
			sum += v
		}
		if math.Abs(float64(sum)-float64(tt.p.Steps)) > 1e-5 {
			t.Errorf("%s: probabilities sum to %v over %d steps", tt.name, sum, tt.p.Steps)
		}
		c, err := Beam(tt.p, abc, 4, 2)
		if err != nil {
			t.Fatalf("%s: Beam: %v", tt.name, err)
		}
		if c[0].Text != tt.want || math.Abs(float64(c[0].Confidence-tt.conf)) > 1e-5 {
			t.Errorf("%s: best %q %.3f; want %q %.3f", tt.name, c[0].Text, c[0].Confidence, tt.want, tt.conf)
		}
		for _, x := range c {
			if tt.from != tt.into && strings.IndexByte(x.Text, tt.from) >= 0 {
				t.Errorf("%s: candidate %q still holds %q", tt.name, x.Text, tt.from)
			}
		}
	}
}

// FuzzDecode feeds arbitrary logits: decoders must not panic, texts must use
// the alphabet only, and the beam's best candidate must be at least as
// probable as any other.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 200, 3, 9, 100, 255, 1, 2}, uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, steps uint8) {
		classes := len(abc) + 1
		T := int(steps%16) + 1
		logits := make([]float32, classes*T)
		for i := range logits {
			if len(b) > 0 {
				logits[i] = float32(b[i%len(b)]) / 16
			}
		}
		p, err := Softmax(logits, classes, T, Probs{})
		if err != nil {
			t.Fatal(err)
		}
		g, err := Greedy(p, abc)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.CharConf) != len(g.Text) {
			t.Fatalf("Greedy: %d confidences for %q", len(g.CharConf), g.Text)
		}
		c, err := Beam(p, abc, 4, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range c {
			for _, r := range x.Text {
				if r < 'A' || r > 'C' {
					t.Fatalf("Beam text %q outside the alphabet", x.Text)
				}
			}
			if i > 0 && x.Confidence > c[0].Confidence {
				t.Fatalf("Beam not sorted: %+v", c)
			}
			if x.Confidence < 0 || x.Confidence > 1.0001 {
				t.Fatalf("Beam confidence %v out of range", x.Confidence)
			}
		}
		if conf, err := Align(p, abc, g.Text); err == nil && len(conf) != len(g.Text) {
			t.Fatalf("Align: %d confidences for %q", len(conf), g.Text)
		}
	})
}

// BenchmarkBeam decodes a typical peaked 32-step output of a 37-class model.
func BenchmarkBeam(b *testing.B) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	const T, C = 32, 37
	p := Probs{Steps: T, Classes: C, P: make([]float32, T*C)}
	for t := range T {
		row := p.P[t*C : (t+1)*C]
		main := 0
		if t%4 == 1 {
			main = 1 + (t*7)%36
		}
		for c := range row {
			row[c] = 0.002
		}
		row[main] = 0.8
		row[1+(t*11)%36] += 0.1
		var s float32
		for _, v := range row {
			s += v
		}
		for c := range row {
			row[c] /= s
		}
	}
	for b.Loop() {
		if _, err := Beam(p, alphabet, 8, 6); err != nil {
			b.Fatal(err)
		}
	}
}

func TestProbMatchesBeam(t *testing.T) {
	// Every text the exhaustive beam lists has the probability Prob computes, and
	// the probabilities of all texts sum to one.
	p := probs(one(1, 0.5), map[int]float32{2: 0.6, 3: 0.3}, one(1, 0.4), map[int]float32{3: 0.7, 1: 0.2}, one(0, 1))
	all, err := Beam(p, abc, 1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, c := range all {
		got := Prob(p, abc, c.Text)
		if math.Abs(got-float64(c.Confidence)) > 1e-5 {
			t.Errorf("Prob(%q) = %v; beam says %v", c.Text, got, c.Confidence)
		}
		sum += got
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("sum of Prob over all texts = %v; want 1", sum)
	}
	for _, text := range []string{"AZ", "AAAAAA"} { // outside the alphabet; needs 11 steps, have 5
		if got := Prob(p, abc, text); got != 0 {
			t.Errorf("Prob(%q) = %v; want 0", text, got)
		}
	}
}

func TestProbLongText(t *testing.T) {
	// 32 steps of one sure character each, blanks between: no underflow, no panic.
	rows := make([]map[int]float32, 32)
	var want strings.Builder
	for i := range rows {
		if i%2 == 0 {
			rows[i] = one(1+i/2%3, 0.99)
			want.WriteByte(abc[i/2%3])
		} else {
			rows[i] = one(0, 1)
		}
	}
	p := probs(rows...)
	got := Prob(p, abc, want.String())
	if exp := math.Pow(0.99, 16); math.Abs(got-exp) > 1e-3 {
		t.Errorf("Prob(16 sure characters) = %v; want about %v", got, exp)
	}
	if Prob(p, abc, strings.Repeat("A", 40)) != 0 {
		t.Error("Prob of a text longer than the steps: want 0")
	}
}

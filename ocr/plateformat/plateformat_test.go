package plateformat

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFix(t *testing.T) {
	tests := []struct {
		spec, in, want, rule string
		fixes                int
	}{
		{"us-ca", "7ABC123", "7ABC123", "us-ca:#@@@###", 0},
		{"us-ca", "7abc-123", "7ABC123", "us-ca:#@@@###", 0},
		{"us-ca", "TABC1Z3", "", "", 0}, // T is no digit's confusable: no rule
		{"us-ca", "7A8C1Z3", "7ABC123", "us-ca:#@@@###", 2},
		{"us-ca", "7O8C1Z3", "7OBC123", "us-ca:#@@@###", 2},
		{"us-ny", "ABC1234", "ABC1234", "us-ny:@@@####", 0},
		{"us-ny", "A8C12S4", "ABC1254", "us-ny:@@@####", 2},
		{"us-ny", "0BC1234", "OBC1234", "us-ny:@@@####", 1},
		{"us-ny", "ABCI234", "ABC1234", "us-ny:@@@####", 1},
		{"us-ny", "ABC 1234", "ABC1234", "us-ny:@@@####", 0},
		{"us-ny", "ABC12345", "", "", 0},
		{"us", "ABC1234", "ABC1234", "us:@@@####", 0},
		{"mx", "ABC123D", "ABC123D", "mx:@@@###@", 0},
		{"mx", "A8C1230", "ABC1230", "mx:@@@####", 1}, // @@@###@ would need 0->O too: fewest fixes win
		{"us-ca,mx", "123ABC", "123ABC", "us-ca+mx:###@@@", 0},
		{"", "ab-c1", "", "", 0},
	}
	for _, tt := range tests {
		s, err := Load(tt.spec)
		if err != nil {
			t.Fatalf("Load(%q): %v", tt.spec, err)
		}
		m := s.Fix(tt.in)
		want := tt.want
		if want == "" {
			want = Normalize(tt.in)
		}
		if m.Text != want || m.Rule.Name() != tt.rule || m.Fixes != tt.fixes {
			t.Errorf("Load(%q).Fix(%q) = %q %q fixes %d; want %q %q fixes %d",
				tt.spec, tt.in, m.Text, m.Rule.Name(), m.Fixes, want, tt.rule, tt.fixes)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, spec := range []string{"zz", "us,zz", "us-zz", "usca"} {
		if _, err := Load(spec); !errors.Is(err, ErrUnknownRegion) {
			t.Errorf("Load(%q) error = %v; want ErrUnknownRegion", spec, err)
		}
	}
	for _, spec := range []string{"us", "US", " us , mx ", "us-ca", "mx", "us,mx,us"} {
		if _, err := Load(spec); err != nil {
			t.Errorf("Load(%q) = %v", spec, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"us", "us @@ #", "us [A", "us [Z-A]", "us [A-5]", "us a.b", "us []",
		"us " + strings.Repeat("#", 13)} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) = nil error; want an error", in)
		}
	}
	s, err := Parse(strings.NewReader("# comment\n\nxx [A-C]#?Z\nyy [A-C]#?Z\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules()) != 1 || s.Rules()[0].Name() != "xx+yy:[A-C]#?Z" {
		t.Fatalf("Parse merged rules = %v", s.Rules())
	}
	for in, want := range map[string]string{"B7QZ": "B7QZ", "B7Q2": "B7QZ", "D7QZ": "", "B75Z": "B75Z"} {
		m := s.Fix(in)
		if got := m.Rule != nil; got != (want != "") || (got && m.Text != want) {
			t.Errorf("Fix(%q) = %q %v; want %q", in, m.Text, m.Rule.Name(), want)
		}
	}
}

func TestRank(t *testing.T) {
	s, _ := Load("us-ca")
	got := s.Rank([]Candidate{
		{"7ABC12", 0.9},   // no rule
		{"7A8C123", 0.8},  // a rule only after a fix, which Rank does not offer
		{"7ABC123", 0.75}, // exact
		{"", 0.99},
		{"--", 0.99},
	})
	if len(got) != 3 || got[0].Text != "7ABC123" || got[0].Score != 0.75 || got[1].Text != "7ABC12" || got[2].Text != "7A8C123" ||
		got[1].Rule != nil || got[1].Confidence != 0.9 {
		t.Fatalf("Rank = %+v", got)
	}
	var none *Set
	got = none.Rank([]Candidate{{"AB1", 0.2}, {"CD2", 0.5}})
	if len(got) != 2 || got[0].Text != "CD2" || got[0].Rule != nil {
		t.Fatalf("nil Set Rank = %+v", got)
	}
}

// probs is a recognizer stand-in: the probability of each text, 0 for others.
func probs(m map[string]float32) func(string) float32 {
	return func(text string) float32 { return m[text] }
}

func TestRankScored(t *testing.T) {
	us, _ := Load("us")
	ny, _ := Load("us-ny")
	tests := []struct {
		name  string
		set   *Set
		cands []Candidate
		prob  map[string]float32
		want  []string // texts in order, as far as given
	}{
		// The recognizer was unsure of the 8: the repair is as likely as half the reading,
		// far more than the odds of a free text.
		{"unsure confusable repaired", ny, []Candidate{{"A8C1234", 0.6}}, map[string]float32{"ABC1234": 0.3},
			[]string{"ABC1234", "A8C1234"}},
		// A vanity plate read with confidence keeps its letters: the rules' repair
		// (D read as 0 to fit @@@####) is improbable under the recognizer.
		{"vanity kept", us, []Candidate{{"ABCD123", 0.95}}, map[string]float32{"ABC0123": 0.001},
			[]string{"ABCD123", "ABC0123"}},
		{"vanity with a digit for a letter kept", us, []Candidate{{"L8VE", 0.9}, {"LBVE", 0.05}}, nil,
			[]string{"L8VE", "LBVE"}},
		// Nothing is trimmed: an edge character is not the rules' to drop.
		{"no trim", ny, []Candidate{{"IABC1234", 0.8}}, nil, []string{"IABC1234"}},
		// Without rules the order is the recognizer's.
		{"no rules", nil, []Candidate{{"A8C1234", 0.6}, {"ABC1234", 0.3}}, map[string]float32{"ABC1234": 0.3},
			[]string{"A8C1234", "ABC1234"}},
	}
	for _, tt := range tests {
		got := tt.set.RankScored(tt.cands, probs(tt.prob))
		var texts []string
		for _, r := range got {
			texts = append(texts, r.Text)
		}
		if len(texts) != len(tt.want) || !slices.Equal(texts, tt.want) {
			t.Errorf("%s: RankScored = %v; want %v", tt.name, texts, tt.want)
		}
	}
}

func TestRegions(t *testing.T) {
	r := Regions()
	if r[0] != "us" || r[1] != "mx" || !contains(r, "us-ca") || !contains(r, "us-wy") {
		t.Fatalf("Regions() = %v", r)
	}
	for _, code := range r {
		if _, err := Load(code); err != nil {
			t.Errorf("Load(%q): %v", code, err)
		}
	}
}

func FuzzParseFix(f *testing.F) {
	f.Add("us-ca #@@@###\nmx @@@###@", "7ABC123")
	f.Add("x [A-Z0-9]?#@", "a-1 b")
	f.Add("x [", "")
	f.Fuzz(func(t *testing.T, rules, text string) {
		s, err := Parse(strings.NewReader(rules))
		if err != nil {
			return
		}
		m := s.Fix(text)
		if m.Rule != nil {
			if len(m.Text) != len(m.Rule.pos) || m.Fixes > len(m.Text) {
				t.Fatalf("Fix(%q) = %+v", text, m)
			}
			if again := s.Fix(m.Text); again.Fixes != 0 || again.Text != m.Text {
				t.Fatalf("Fix(Fix(%q)) = %+v; want a fixed point", text, again)
			}
		}
		s.Rank([]Candidate{{text, 0.5}, {m.Text, 0.4}})
	})
}

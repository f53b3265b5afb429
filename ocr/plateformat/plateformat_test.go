package plateformat

import (
	"errors"
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
		{"7A8C123", 0.8},  // one fix
		{"7ABC123", 0.75}, // exact: same text as the fixed one, which scores 0.68
		{"", 0.99},
		{"--", 0.99},
	})
	if len(got) != 2 || got[0].Text != "7ABC123" || got[0].Confidence != 0.75 || got[0].Fixes != 0 || got[1].Text != "7ABC12" {
		t.Fatalf("Rank = %+v", got)
	}
	var none *Set
	got = none.Rank([]Candidate{{"AB1", 0.2}, {"CD2", 0.5}})
	if len(got) != 2 || got[0].Text != "CD2" || got[0].Rule != nil {
		t.Fatalf("nil Set Rank = %+v", got)
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

func TestRankTrimsEdgeCharacter(t *testing.T) {
	s, _ := Load("us-ny,us-mo")
	got := s.Rank([]Candidate{{"IABC1234", 0.8}, {"ZSH0R7X", 0.5}, {"ABC12345", 0.9}})
	want := map[string]bool{"ABC1234": true, "SH0R7X": true}
	for _, r := range got {
		if want[r.Text] && (r.Rule == nil || r.Fixes < 1) {
			t.Errorf("trimmed %q: rule %v fixes %d", r.Text, r.Rule.Name(), r.Fixes)
		}
		delete(want, r.Text)
	}
	if len(want) != 0 {
		t.Fatalf("Rank = %+v; missing trimmed %v", got, want)
	}
	if got[0].Text != "ABC1234" {
		t.Errorf("best = %q; want the trimmed ABC1234 (0.8*0.6) over the untrimmed texts", got[0].Text)
	}
	// Without rules nothing is trimmed.
	var none *Set
	if got := none.Rank([]Candidate{{"IABC1234", 0.8}}); len(got) != 1 {
		t.Errorf("nil set Rank = %+v", got)
	}
}

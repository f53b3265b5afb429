package plateformat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrUnknownRegion reports a region code that no built-in rule has.
var ErrUnknownRegion = errors.New("unknown plate region")

// maxPositions bounds a pattern's length; no plate has more characters.
const maxPositions = 12

// class is the set of characters accepted at one position: bit i for '0'+i (i < 10) and
// 'A'+i-10 (10 <= i < 36).
type class uint64

const (
	digits  class = 1<<10 - 1
	letters class = (1<<26 - 1) << 10
)

func bit(c byte) class {
	switch {
	case c >= '0' && c <= '9':
		return 1 << (c - '0')
	case c >= 'A' && c <= 'Z':
		return 1 << (c - 'A' + 10)
	}
	return 0
}

// Rule is one plate pattern with the regions that use it.
type Rule struct {
	Pattern string
	Regions []string
	pos     []class
}

// Name is the rule as reported in results: the region (or the country prefix that all its
// regions share, or the regions joined with '+') and the pattern, e.g. "us-ca:#@@@###" or
// "us:@@@####".
func (r *Rule) Name() string {
	if r == nil {
		return ""
	}
	return regionLabel(r.Regions) + ":" + r.Pattern
}

func regionLabel(regions []string) string {
	if len(regions) == 1 {
		return regions[0]
	}
	prefix, _, _ := strings.Cut(regions[0], "-")
	for _, r := range regions[1:] {
		if p, _, _ := strings.Cut(r, "-"); p != prefix {
			return strings.Join(regions, "+")
		}
	}
	return prefix
}

// compilePattern parses a pattern into position classes.
func compilePattern(p string) ([]class, error) {
	var out []class
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '@':
			out = append(out, letters)
		case c == '#':
			out = append(out, digits)
		case c == '?':
			out = append(out, letters|digits)
		case c == '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("pattern %q: unclosed '['", p)
			}
			set, err := compileClass(p[i+1 : i+end])
			if err != nil {
				return nil, fmt.Errorf("pattern %q: %w", p, err)
			}
			out = append(out, set)
			i += end
		case bit(c) != 0:
			out = append(out, bit(c))
		default:
			return nil, fmt.Errorf("pattern %q: unexpected %q at %d", p, c, i)
		}
		if len(out) > maxPositions {
			return nil, fmt.Errorf("pattern %q: more than %d positions", p, maxPositions)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pattern %q: empty", p)
	}
	return out, nil
}

func compileClass(s string) (class, error) {
	var set class
	for i := 0; i < len(s); i++ {
		lo := s[i]
		if bit(lo) == 0 {
			return 0, fmt.Errorf("class [%s]: unexpected %q", s, lo)
		}
		hi := lo
		if i+2 < len(s) && s[i+1] == '-' {
			hi = s[i+2]
			if bit(hi) == 0 || hi < lo || (lo <= '9') != (hi <= '9') {
				return 0, fmt.Errorf("class [%s]: bad range %c-%c", s, lo, hi)
			}
			i += 2
		}
		for c := lo; c <= hi; c++ {
			set |= bit(c)
		}
	}
	if set == 0 {
		return 0, fmt.Errorf("class [%s]: empty", s)
	}
	return set, nil
}

// Set is a compiled, immutable collection of rules; it is safe for concurrent use. The nil
// *Set has no rules: it accepts nothing and leaves text alone.
type Set struct {
	spec  string
	rules []*Rule // in spec order, one per distinct pattern
}

// Spec is the region spec the set was built from.
func (s *Set) Spec() string {
	if s == nil {
		return ""
	}
	return s.spec
}

// Rules returns the set's rules in priority order.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// Load builds a set from a comma-separated region spec: "us" (every US rule), "us-ca" (one
// state), "mx", or a list such as "us-ca,us-nv,mx". Earlier regions take priority when several
// rules accept the same text. An empty spec gives a set with no rules.
func Load(spec string) (*Set, error) {
	var lines []string
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		code := strings.ToLower(strings.TrimSpace(part))
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		n := 0
		for _, r := range builtin {
			if r[0] == code || strings.HasPrefix(r[0], code+"-") {
				lines = append(lines, r[0]+" "+r[1])
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("plate regions %q: %w %q (known: %s)", spec, ErrUnknownRegion, code, strings.Join(Regions(), ", "))
		}
	}
	set, err := Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return nil, err
	}
	set.spec = spec
	return set, nil
}

// Regions lists the built-in region codes, countries first.
func Regions() []string {
	seen := map[string]bool{}
	var countries, out []string
	for _, r := range builtin {
		c, _, _ := strings.Cut(r[0], "-")
		if !seen[c] {
			seen[c] = true
			countries = append(countries, c)
		}
		if !seen[r[0]] {
			seen[r[0]] = true
			out = append(out, r[0])
		}
	}
	sort.Strings(out)
	return append(countries, out...)
}

// Parse reads rules, one per line: a region code, white space, a pattern. Blank lines and
// lines starting with '#' are ignored. Rules whose pattern appeared before are merged into the
// earlier one.
func Parse(r io.Reader) (*Set, error) {
	s := &Set{}
	byPattern := map[string]*Rule{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("plate rules line %d: want \"region pattern\", got %d fields", n, len(f))
		}
		region, pattern := strings.ToLower(f[0]), f[1]
		if rule, ok := byPattern[pattern]; ok {
			if !contains(rule.Regions, region) {
				rule.Regions = append(rule.Regions, region)
			}
			continue
		}
		pos, err := compilePattern(pattern)
		if err != nil {
			return nil, fmt.Errorf("plate rules line %d: %w", n, err)
		}
		rule := &Rule{Pattern: pattern, Regions: []string{region}, pos: pos}
		byPattern[pattern] = rule
		s.rules = append(s.rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("plate rules: %w", err)
	}
	return s, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Normalize upper-cases text and drops everything but letters and digits.
func Normalize(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if bit(c) != 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// toDigit and toLetter are the confusable pairs: a letter read where a digit belongs, and back.
var (
	toDigit  = map[byte]byte{'O': '0', 'Q': '0', 'D': '0', 'I': '1', 'B': '8', 'S': '5', 'Z': '2', 'G': '6'}
	toLetter = map[byte]byte{'0': 'O', '1': 'I', '8': 'B', '5': 'S', '2': 'Z', '6': 'G'}
)

// Match is the outcome of fitting a text to the rules.
type Match struct {
	// Text is the normalized input with confusables fixed to fit Rule.
	Text string
	// Rule is the rule that accepted Text; nil when none did (Text is then the normalized input).
	Rule *Rule
	// Fixes counts the characters changed.
	Fixes int
}

// Fix fits text to the set's rules: the rule needing the fewest confusable fixes wins, earlier
// rules on a tie. Without a fitting rule, the normalized text comes back with a nil Rule.
func (s *Set) Fix(text string) Match {
	norm := Normalize(text)
	best := Match{Text: norm, Fixes: -1}
	if s == nil {
		best.Fixes = 0
		return best
	}
	var buf [maxPositions]byte
	for _, r := range s.rules {
		if len(r.pos) != len(norm) {
			continue
		}
		fixes, ok := 0, true
		for i := range norm {
			c := norm[i]
			if r.pos[i]&bit(c) != 0 {
				buf[i] = c
				continue
			}
			if d, has := toDigit[c]; has && r.pos[i]&bit(d) != 0 {
				buf[i] = d
			} else if l, has := toLetter[c]; has && r.pos[i]&bit(l) != 0 {
				buf[i] = l
			} else {
				ok = false
				break
			}
			fixes++
		}
		if ok && (best.Fixes < 0 || fixes < best.Fixes) {
			best = Match{Text: string(buf[:len(norm)]), Rule: r, Fixes: fixes}
			if fixes == 0 {
				break
			}
		}
	}
	if best.Fixes < 0 {
		best.Fixes = 0
	}
	return best
}

// Candidate is one reading of a plate with its confidence in [0,1].
type Candidate struct {
	Text       string
	Confidence float32
}

// Ranked is a candidate after the rules: fixed text, the rule (nil: none matched) and a score
// that orders candidates.
type Ranked struct {
	Text       string
	Confidence float32 // the recognizer's confidence of the best reading that gave Text
	Score      float32 // Confidence weighed by rule agreement
	Rule       *Rule
	Fixes      int
}

// NoRuleWeight multiplies the score of a candidate that no rule accepts, when the set has
// rules: the prior odds of a plate outside every format (personalised, special, foreign)
// against one that follows a format. Vanity and special plates are about one in ten of the
// plates on US roads (state registries report 4 to 16 percent personalised plates), hence
// 0.1/0.9. It ranks a reading against the recognizer's other readings and the rules'
// repairs, each scored by its own probability; it never turns a confident free text into a
// format (see RankScored). `lprlab rulesval` measures it on rendered plates.
const NoRuleWeight = 0.11

// Rank is RankScored without a scorer: it orders the candidates by confidence weighed by rule
// agreement and repairs nothing.
func (s *Set) Rank(cands []Candidate) []Ranked { return s.RankScored(cands, nil) }

// RankScored fits every candidate to the rules, merges candidates that become the same text
// (keeping the best score) and orders them by score, best first. With a nil or empty set the
// order is by confidence alone. Candidates with no letters or digits are dropped.
//
// A candidate that a rule accepts keeps its confidence as its score; one that no rule accepts
// is kept too, weighed by NoRuleWeight. Where a rule accepts a candidate once confusable
// characters are fixed (B for 8, O for 0, Z for 2...), the repaired text is offered beside the
// reading, scored by prob, the recognizer's own probability of that text: a repair wins only
// where the recognizer was unsure of the characters it changes, and a confidently read vanity
// plate keeps its letters. A nil prob (fusion's re-ranking of texts already repaired frame by
// frame) offers no repairs. Nothing is ever trimmed: a reading with an extra character at an
// edge is the recognizer's to fix, not the rules'.
func (s *Set) RankScored(cands []Candidate, prob func(text string) float32) []Ranked {
	out := make([]Ranked, 0, len(cands)+2)
	hasRules := s != nil && len(s.rules) > 0
	add := func(r Ranked) {
		for i := range out {
			if out[i].Text == r.Text {
				if r.Score > out[i].Score {
					out[i] = r
				}
				return
			}
		}
		out = append(out, r)
	}
	for _, c := range cands {
		m := s.Fix(c.Text)
		if m.Text == "" {
			continue
		}
		if !hasRules || (m.Rule != nil && m.Fixes == 0) {
			add(Ranked{Text: m.Text, Confidence: c.Confidence, Score: c.Confidence, Rule: m.Rule})
			continue
		}
		norm := Normalize(c.Text)
		add(Ranked{Text: norm, Confidence: c.Confidence, Score: c.Confidence * NoRuleWeight})
		if m.Rule != nil && prob != nil {
			p := prob(m.Text)
			add(Ranked{Text: m.Text, Confidence: p, Score: p, Rule: m.Rule, Fixes: m.Fixes})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// rulesvalMain implements `lprlab rulesval`: the synthetic validation of the plate-format
// rules. It renders plates whose texts follow the rules' own patterns (serial plates) or
// none (vanity plates, share -vanity), photographs them as a lane camera would, reads each
// with the recognizer once and scores the candidates twice, with the rules of -regions and
// with none, so the two columns differ only by the rules. It is how the rules' weights are
// chosen: never by a score on real benchmark photos.
func rulesvalMain(args []string) int {
	fs := flag.NewFlagSet("rulesval", flag.ContinueOnError)
	n := fs.Int("n", 2000, "plates to render")
	vanity := fs.Float64("vanity", 0.1, "share of vanity (free-text) plates")
	regions := fs.String("regions", "us", "plate-format regions whose patterns the serial plates follow and whose rules are scored")
	seed := fs.Int64("seed", 1_000_000, "seed of the first plate (training uses seeds below 1e6)")
	minW := fs.Int("min-width", 60, "narrowest photographed plate, pixels")
	maxW := fs.Int("max-width", 160, "widest photographed plate, pixels")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab rulesval [-n 2000] [-vanity 0.1] [-regions us]\n\n"+
			"Scores the format rules on rendered serial and vanity plates: top-1 and top-5 with and without rules.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	rules, err := plateformat.Load(*regions)
	if err != nil || len(rules.Rules()) == 0 {
		fmt.Fprintln(os.Stderr, "lprlab rulesval: -regions: need at least one rule:", err)
		return 2
	}
	st, err := rulesVal(rules, *n, *vanity, *seed, synth.CameraOptions{Crop: synth.CropPlate, MinWidth: *minW, MaxWidth: *maxW})
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab rulesval:", err)
		return 1
	}
	st.print(os.Stdout)
	return 0
}

// rulesTally counts correct reads of one kind of plate.
type rulesTally struct{ n, top1, top5, top1Rules, top5Rules int }

type rulesStats struct{ serial, vanity rulesTally }

func (s rulesStats) print(w *os.File) {
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }
	fmt.Fprintf(w, "%-8s %6s %12s %12s %12s %12s\n", "plates", "n", "top1 none", "top1 rules", "top5 none", "top5 rules")
	for _, row := range []struct {
		name string
		t    rulesTally
	}{{"serial", s.serial}, {"vanity", s.vanity}, {"all", rulesTally{
		s.serial.n + s.vanity.n, s.serial.top1 + s.vanity.top1, s.serial.top5 + s.vanity.top5,
		s.serial.top1Rules + s.vanity.top1Rules, s.serial.top5Rules + s.vanity.top5Rules}}} {
		t := row.t
		fmt.Fprintf(w, "%-8s %6d %11.1f%% %11.1f%% %11.1f%% %11.1f%%\n", row.name, t.n,
			pct(t.top1, t.n), pct(t.top1Rules, t.n), pct(t.top5, t.n), pct(t.top5Rules, t.n))
	}
}

func rulesVal(rules *plateformat.Set, n int, vanityShare float64, seed int64, cam synth.CameraOptions) (rulesStats, error) {
	ocr.SetOpenCVThreads(1)
	rec, err := ocr.NewRecognizer()
	if err != nil {
		return rulesStats{}, err
	}
	defer rec.Close()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x72756c6573))
	var st rulesStats
	for i := range n {
		s := seed + int64(i)
		vanity := rng.Float64() < vanityShare
		text := vanityText(rng)
		if !vanity {
			text = patternText(rng, rules.Rules()[rng.IntN(len(rules.Rules()))].Pattern)
		}
		p := synth.RenderPlate(s, synth.Options{Text: text, Layout: "us"})
		img := synth.Photograph(p, s, cam)
		mat, err := gocv.NewMatFromBytes(img.Rect.Dy(), img.Rect.Dx(), gocv.MatTypeCV8UC3, synth.BGR(img))
		if err != nil {
			return st, fmt.Errorf("plate %d: %w", i, err)
		}
		rd, err := rec.Read(mat)
		mat.Close()
		t := &st.serial
		if vanity {
			t = &st.vanity
		}
		t.n++
		if err != nil {
			continue
		}
		want := ocr.Canonical(p.Text)
		a1, a5 := rankedHit((*plateformat.Set)(nil).Rank(rd.Candidates), want)
		b1, b5 := rankedHit(rules.RankScored(rd.Candidates, rec.TextProb), want)
		t.top1 += a1
		t.top5 += a5
		t.top1Rules += b1
		t.top5Rules += b5
	}
	return st, nil
}

// rankedHit reports (as 0 or 1) whether want is the first, and among the first five, of ranked.
func rankedHit(ranked []plateformat.Ranked, want string) (top1, top5 int) {
	for i, r := range ranked {
		if i == 5 {
			break
		}
		if ocr.Canonical(r.Text) == want {
			if i == 0 {
				top1 = 1
			}
			top5 = 1
			break
		}
	}
	return top1, top5
}

const (
	rvLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	rvDigits  = "0123456789"
)

// patternText fills a rule pattern ('@' letter, '#' digit) with random characters.
func patternText(rng *rand.Rand, pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '@':
			b.WriteByte(rvLetters[rng.IntN(len(rvLetters))])
		case '#':
			b.WriteByte(rvDigits[rng.IntN(len(rvDigits))])
		default:
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}

// vanityText is a free text of 4 to 7 characters, mostly letters (words, names, numbers in
// place of letters), such as personalised plates carry.
func vanityText(rng *rand.Rand) string {
	n := 4 + rng.IntN(4)
	b := make([]byte, n)
	for i := range b {
		if rng.Float64() < 0.75 {
			b[i] = rvLetters[rng.IntN(len(rvLetters))]
		} else {
			b[i] = rvDigits[rng.IntN(len(rvDigits))]
		}
	}
	return string(b)
}

package synth

import (
	"math/rand/v2"
	"strings"
)

// Alphabet is the set of characters a plate text may contain (besides the
// separators ' ' and '-', which are not part of the label).
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

const (
	letters       = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	serialLetters = "ABCDEFGHJKLMNPRSTUVWXYZ"
	digits        = "0123456789"
)

type pattern struct {
	p string // L letter, D digit, X either; ' ' and '-' separate groups
	w float64
}

// usPatterns are common US passenger plate formats, weighted roughly by how
// often they occur across states.
var usPatterns = []pattern{
	{"LLL DDDD", 10}, {"LLLDDDD", 4}, {"DLLL DDD", 6}, {"DLLLDDD", 3},
	{"LLL DDD", 8}, {"LLLDDD", 4}, {"DDD LLL", 8}, {"DDDLLL", 4},
	{"DDD DDD", 3}, {"DDDDDD", 3}, {"DDDD LL", 2}, {"DDDDLL", 2},
	{"LL DDDD", 2}, {"LLDDDD", 2}, {"LL DDDDD", 1}, {"DLL DDD", 2},
	{"DLLDDD", 1}, {"LDD DDDD", 1}, {"DDDDDDD", 1}, {"DDDDD", 2},
	{"DDDD", 1}, {"LLDDD", 1}, {"DLDDDD", 1}, {"LDDDLL", 1},
	{"DDLDDD", 1}, {"DLDDDDD", 1}, {"DDDLLDD", 1}, {"LLLL DDD", 1},
	{"DDD-LLL", 1}, {"LLL-DDDD", 1}, {"DD LLLD", 1}, {"LDDLLL", 1},
	{"DDD DDDD", 1},
}

// mxPatterns are Mexican private-car formats.
var mxPatterns = []pattern{
	{"LLL-DD-DD", 4}, {"LLL-DDD-L", 3}, {"LL-DD-DDD", 2}, {"DDD-LLL", 1}, {"LLL-DDDD", 1},
}

func pickPattern(rng *rand.Rand, ps []pattern) string {
	var total float64
	for _, p := range ps {
		total += p.w
	}
	r := rng.Float64() * total
	for _, p := range ps {
		if r < p.w {
			return p.p
		}
		r -= p.w
	}
	return ps[0].p
}

// randomText returns a plate text with separators for a layout.
//
// About 40 % of US texts are vanity-like: 2-8 characters where every
// position is a letter or a digit at random. Real plates mix many formats
// (county prefixes, special series, personalized plates), and a recognizer
// that saw mostly fixed patterns such as "LLL DDDD" learns where letters go
// and reads a 2 in a letter position as Z, an 8 as B, a 1 as I.
func randomText(rng *rand.Rand, mexican bool) string {
	switch {
	case mexican:
		return fillPattern(rng, pickPattern(rng, mxPatterns), false)
	case rng.Float64() < 0.4:
		n := 2 + rng.IntN(7)
		if n < 4 && rng.Float64() < 0.6 {
			n += 3
		}
		return fillPattern(rng, vanityPattern(rng, n), true)
	}
	return fillPattern(rng, serialPattern(rng), false)
}

// trafficText returns a US plate text as lane traffic carries them, for the lane clips: about
// one plate in ten personalised (4 to 7 characters: the reader's floor is 4,
// ocr.FrameReaderOptions.MinChars), the rest serial formats. Training texts (randomText) mix
// far more vanity texts, of 2 to 8 characters, so that the recognizer does not learn formats.
func trafficText(rng *rand.Rand) string {
	if rng.Float64() < 0.1 {
		return fillPattern(rng, vanityPattern(rng, 4+rng.IntN(4)), true)
	}
	return fillPattern(rng, serialPattern(rng), false)
}

func serialPattern(rng *rand.Rand) string {
	pat := pickPattern(rng, usPatterns)
	if strings.ContainsRune(pat, ' ') && rng.Float64() < 0.2 {
		pat = strings.ReplaceAll(pat, " ", "-")
	}
	return pat
}

// vanityPattern is n positions, each a letter or a digit at random, sometimes split in two groups.
func vanityPattern(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	letterBias := rng.Float64()
	for i := range b {
		if rng.Float64() < letterBias {
			b[i] = 'L'
		} else {
			b[i] = 'D'
		}
	}
	if n >= 5 && rng.Float64() < 0.3 {
		k := 2 + rng.IntN(n-3)
		sep := " "
		if rng.Float64() < 0.3 {
			sep = "-"
		}
		return string(b[:k]) + sep + string(b[k:])
	}
	return string(b)
}

func fillPattern(rng *rand.Rand, pat string, vanity bool) string {
	// Many states leave I, O and Q (which read as 1 and 0) out of serial
	// numbers; others and vanity plates use every letter.
	set := letters
	if !vanity && rng.Float64() < 0.6 {
		set = serialLetters
	}
	b := make([]byte, len(pat))
	for i := range pat {
		switch pat[i] {
		case 'L':
			b[i] = set[rng.IntN(len(set))]
		case 'D':
			b[i] = digits[rng.IntN(len(digits))]
		case 'X':
			b[i] = Alphabet[rng.IntN(len(Alphabet))]
		default:
			b[i] = pat[i]
		}
	}
	return string(b)
}

// Label is the text a reader should output for a plate text: upper case,
// separators removed.
func Label(text string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(text) {
		if strings.ContainsRune(Alphabet, r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

var stateNames = []string{
	"Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
	"Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky",
	"Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
	"Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico",
	"New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania",
	"Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont",
	"Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "Ontario", "Quebec",
}

var mxStates = []string{
	"Baja California", "Sonora", "Chihuahua", "Coahuila", "Nuevo Leon", "Tamaulipas", "Jalisco",
	"Mexico", "Ciudad de Mexico", "Puebla", "Veracruz", "Yucatan", "Sinaloa", "Durango",
}

var slogans = []string{
	"Vacationland", "Famous Potatoes", "Great Lakes State", "The Natural State", "Land of Lincoln",
	"Live Free or Die", "Garden State", "First in Flight", "Sunshine State", "Heart of Dixie",
	"Wild Wonderful", "Ocean State", "Empire State", "Grand Canyon State", "Lone Star State",
	"America's Dairyland", "10,000 Lakes", "Treasure State", "Peach State", "Aloha State",
	"Show Me State", "Centennial", "Keystone State", "Sportsman's Paradise", "The First State",
	"Green Mountains", "visitPA.com", "www.nh.gov", "Explore Minnesota", "In God We Trust",
	"Stars Fell On Alabama", "Discover", "Beautiful", "The Last Frontier", "Spirit of America",
	"Frontera Norte", "Servicio Particular", "Transporte Privado", "DIC 2026", "Dealer",
}

// wordCase returns s in one of the cases plates use for banners.
func wordCase(rng *rand.Rand, s string) string {
	if rng.Float64() < 0.45 {
		return strings.ToUpper(s)
	}
	return s
}

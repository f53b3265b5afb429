package hotlist

import "strings"

// fold maps each character a plate recognizer confuses to the one representative both the
// backend and the device hash: O Q D -> 0, I L -> 1, Z -> 2, S -> 5, G -> 6, B -> 8.
var fold = [256]byte{
	'O': '0', 'Q': '0', 'D': '0',
	'I': '1', 'L': '1',
	'Z': '2',
	'S': '5',
	'G': '6',
	'B': '8',
}

// Canonical is the form of a plate text that is hashed: upper case, only A-Z and 0-9 kept
// (spaces, dashes and other marks dropped), confusable characters folded (see fold).
func Canonical(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			continue
		}
		if f := fold[c]; f != 0 {
			c = f
		}
		b.WriteByte(c)
	}
	return b.String()
}

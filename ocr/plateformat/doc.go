// Package plateformat holds licence-plate format rules: per-region patterns in the style of
// OpenALPR's postprocess files, used to rank recognizer candidates, to repair confusable
// characters, and to report which rule a plate matched.
//
// A pattern is a sequence of position classes over normalized plate text (upper case, no spaces
// or dashes):
//
//	@        any letter A-Z
//	#        any digit 0-9
//	?        any letter or digit
//	[A-HJ5]  a character class with single characters and ranges
//	X        any other letter or digit stands for itself
//
// A rule is a region code (e.g. "us-ca", "mx") with its pattern. A [Set] is built from a spec
// such as "us" (every US rule), "us-ca,us-nv", "mx" or "us,mx"; [Set.Fix] turns recognizer text
// into the text that a rule accepts, changing only the confusable pairs O/0, Q/0, D/0, I/1, B/8,
// S/5, Z/2, G/6 and only where the rule asks for a letter or a digit; [Set.RankScored] orders the
// candidates of one plate by confidence and rule agreement and offers such a repair beside the
// reading, scored by the recognizer's own probability of the repaired text, so a repair wins
// only where the recognizer was unsure of what it changes. A reading that no rule accepts (a
// vanity, special or foreign plate) is never forced into a format or trimmed: it only ranks
// below readings that a rule accepts by the prior odds [NoRuleWeight].
//
// An empty spec gives a set without rules: candidates keep the recognizer's order.
//
// The package is cgo-free; it is shared by the recognizer pipeline and the fusion stage.
package plateformat

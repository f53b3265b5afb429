// Package editdist computes the Levenshtein edit distance between short
// strings without allocating. Fusion uses it to tell whether two reads are
// the same plate; the daemon's configuration uses it for "did you mean" hints
// on mistyped keys.
package editdist

// MaxLen is the longest prefix of each string that Distance compares; longer
// strings are truncated (plates and configuration keys are shorter).
const MaxLen = 32

// Distance is the number of single-byte insertions, deletions and
// substitutions that turn a into b, over their first MaxLen bytes.
func Distance(a, b string) int {
	a, b = a[:min(len(a), MaxLen)], b[:min(len(b), MaxLen)]
	var prev, cur [MaxLen + 1]int
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

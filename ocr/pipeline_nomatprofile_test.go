//go:build !matprofile

package ocr

// matCount is 0 without the matprofile tag: Mat leaks are checked with -tags matprofile.
func matCount() int { return 0 }

//go:build !matprofile

package capture_test

// matCount is 0 without the matprofile build tag; run with -tags matprofile to count
// open gocv Mats.
func matCount() int { return 0 }

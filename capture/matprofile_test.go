//go:build matprofile

package capture_test

import "gocv.io/x/gocv"

// matCount counts the open gocv Mats (the matprofile build tag enables counting).
func matCount() int { return gocv.MatProfile.Count() }

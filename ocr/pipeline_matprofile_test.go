//go:build matprofile

package ocr

import "gocv.io/x/gocv"

// matCount is the number of live Mats (gocv's MatProfile); tests compare it before and after.
func matCount() int { return gocv.MatProfile.Count() }

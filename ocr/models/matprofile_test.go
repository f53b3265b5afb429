//go:build matprofile

package models

import "gocv.io/x/gocv"

func matCount() int { return gocv.MatProfile.Count() }

//go:build !matprofile

package models

func matCount() int { return 0 }

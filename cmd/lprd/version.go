package main

import (
	"fmt"
	"runtime"

	"gocv.io/x/gocv"
)

// versionMain implements `lprd version`.
func versionMain([]string) int {
	fmt.Printf("lprd %s (%s, %s/%s)\nOpenCV %s (gocv %s)\nrecognizer model %s\n",
		version, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		gocv.OpenCVVersion(), gocv.Version(), modelVersion())
	return 0
}

package ocr

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "pipeline_threads.h"
*/
import "C"

// SetOpenCVThreads sets the size of OpenCV's own worker pool (cv::setNumThreads). lprd
// parallelises by running one FrameReader per core, so the daemon sets 1: OpenCV then runs
// every call on the calling goroutine's thread, and workers do not fight over cores. 0 restores
// OpenCV's default (one per core). It affects the whole process.
func SetOpenCVThreads(n int) {
	C.lprd_set_num_threads(C.int(n))
}

// OpenCVThreads reports the size of OpenCV's worker pool.
func OpenCVThreads() int {
	return int(C.lprd_get_num_threads())
}

package main

import (
	"fmt"
	"os"

	"github.com/lprd/lprd/ocr"
)

// evalCrops runs the recognizer on every image of dir (each image is one
// plate crop) and writes the predictions to out in the format of
// lprlab score.
// It runs OpenCV on one thread, as the daemon's workers do, so the times
// are per plate on one core.
func evalCrops(dir, out string, opt ocr.RecognizerOptions) error {
	ocr.SetOpenCVThreads(1)
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	st, err := ocr.EvalCrops(dir, f, opt)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("eval: %w", cerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "eval: %d crops, %d read, median %.2f ms per plate\n", st.Images, st.Read, st.MedianMs)
	return nil
}

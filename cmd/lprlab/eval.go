package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/plateformat"
)

// evalMain implements `lprlab eval`: read a folder of plate crops (-crops) or of whole benchmark
// photos (-dataset) and write the predictions in the format of lprlab score.
// The output holds plate text in clear: it is a bench tool for public evaluation data, not
// part of the service.
func evalMain(args []string) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	crops := fs.String("crops", "", "folder of plate crops: each image is one plate")
	dataset := fs.String("dataset", "", "folder of photos (OpenALPR benchmark layout): find and read the plates")
	out := fs.String("out", "", "predictions file to write")
	regions := fs.String("regions", "us", "plate-format regions for -dataset (e.g. us, us-ca, mx, \"us,mx\"; empty: none)")
	detector := fs.String("detector", string(ocr.DefaultDetector), "plate detector for -dataset: classical, learned, both or agree")
	model := fs.String("model", "", "recognizer ONNX file to read with (default: the embedded model), e.g. a training run's")
	keepO := fs.Bool("keep-o", false, "report the letter O as read instead of as 0 (see ocr.RecognizerOptions.KeepO)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab eval (-crops DIR | -dataset DIR) -out FILE [-regions us] [-detector KIND] [-model FILE] [-keep-o]\n\n"+
			"Reads a folder of plate crops or of benchmark photos and writes the predictions, plate text in clear.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if (*crops == "") == (*dataset == "") || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	recOpt := ocr.RecognizerOptions{KeepO: *keepO}
	if *model != "" {
		b, err := os.ReadFile(*model)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lprlab eval: -model:", err)
			return 2
		}
		recOpt.Model = b
	}
	if *crops != "" {
		if err := evalCrops(*crops, *out, recOpt); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab eval:", err)
			return 1
		}
		return 0
	}
	rules, err := plateformat.Load(*regions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab eval: -regions:", err)
		return 2
	}
	kind, err := ocr.ParseDetectorKind(*detector)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab eval: -detector:", err)
		return 2
	}
	opt := ocr.FrameReaderOptions{Rules: rules, DetectorKind: kind, Recognizer: recOpt}
	if err := evalDataset(*dataset, *out, opt); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab eval:", err)
		return 1
	}
	return 0
}

// evalDataset runs the whole-frame pipeline on every photo of dir and writes the predictions
// to out.
func evalDataset(dir, out string, opt ocr.FrameReaderOptions) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	st, err := ocr.EvalDataset(dir, f, opt)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("eval: %w", cerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "eval: %d images, %d with a read; per image (one core, decoded): median %.1f ms, p90 %.1f ms CPU (wall median %.1f ms); JPEG decode median %.1f ms, not included\n",
		st.Images, st.WithRead, st.MedianMs, st.P90Ms, st.WallMedianMs, st.DecodeMedianMs)
	return nil
}

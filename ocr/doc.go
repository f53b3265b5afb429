// Package ocr finds licence plates in camera frames and reads them.
//
// The reading step is Recognizer: a compact conv-only CTC network (trained on
// synthetic plates by scripts/train-ocr, embedded from ocr/models, run through
// OpenCV DNN) that reads a plate crop into characters, decoded by ocr/ctc into
// a best text with per-character confidences and a ranked list of
// alternatives for the format rules (ocr/plateformat) and multi-frame fusion
// (ocr/fusion). Locator finds plate candidates in a frame (dropping rows along
// the frame's top and bottom edge, where cameras burn in their overlays, and
// joining the two rows of a stacked plate, which FrameReader reads apart and
// joins, top first); the pipeline ties the stages together per worker
// goroutine.
//
// gocv does not catch OpenCV's C++ exceptions, so everything that reaches
// OpenCV is validated first (sizes, types) and the embedded network is
// checked against a PyTorch reference in tests. Every gocv.Mat has one owner
// and one Close; scratch Mats belong to the worker that owns the stage.
//
// Plate text never goes to logs or errors: errors name the stage and the
// problem only.
package ocr

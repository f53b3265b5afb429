// Package capture turns a camera into a stream of pooled frames for the ocr stage.
//
// # Sources
//
// [Open] accepts, in [Options.Camera]:
//
//   - a V4L2 device such as /dev/video0, read through github.com/blackjack/webcam;
//     the pixel format (MJPEG, YUYV, GREY), size, frame rate, buffer count and the
//     exposure and gain controls are negotiated with the driver and what the driver
//     chose is reported in [State.Negotiated];
//   - an rtsp://, rtsps://, http:// or https:// URL of an IP camera, or a video file,
//     read through gocv's VideoCapture (FFmpeg);
//   - a folder of still images (jpg, png, bmp, pgm/ppm, tif, webp), read in name order.
//
// Files and folders are replays: they are paced at the recorded rate, at a given rate,
// or as fast as the consumer takes them (see [Options.ReplayRate]), and when a replay
// ends [Camera.Run] returns [ErrEnded] unless [Options.Loop] is set. A replayed frame's
// [Frame.Mono] is its position in the recording, so that timing downstream (fusion)
// is the same at any replay rate; a folder's stills are one second apart.
//
// # Using it
//
// [Open] validates the options and opens the source once, so that a configuration
// error stops the daemon at start. [Camera.Run] then owns the source in the caller's
// goroutine and pushes frames into a [Queue]; workers take them with [Queue.Pop] or
// from [Queue.C] and call [Frame.Release]. The caller closes the queue after Run
// returns. [Camera.State] is safe to call at any time, for the health topic.
//
// # Frames and memory
//
// Every frame is copied out of the driver's buffer (or the decoder's Mat) at once into
// a [Frame] that comes from a [Pool]. Frames reach the consumer through a bounded
// [Queue] that drops the oldest frame when it is full and counts the drop. The consumer
// calls [Frame.Release] when done; the pool zeroes the pixels before the buffer is
// reused, so no image outlives its use in memory longer than necessary. Nothing in this
// package writes pixels anywhere.
//
// The grey path of a YUYV camera takes the Y plane directly (no colour round-trip) and
// allocates nothing per frame in steady state. MJPEG frames are checked structurally in
// Go first ([ParseJPEG]) and decoded once by OpenCV; corrupt frames are counted in
// [State] and skipped, never fatal.
//
// # Resilience
//
// A camera that disappears (unplugged, ENODEV, a stalled stream, an RTSP drop) is
// reopened with capped exponential backoff. [Camera.State] reports streaming,
// reconnecting, failed or ended, with the last error and counters, for the health
// topic. Errors name the camera with any URL credentials removed.
//
// # Testing
//
// The V4L2 path goes through the small [FrameSource] and [Device] interfaces that the
// capturetest package fakes by hand, so format negotiation, conversion, corrupt frames
// and reconnects are tested without a camera.
package capture

// Package capturetest has hand-written fakes of the camera interfaces of package
// capture and generators of synthetic raw frames, so that negotiation, conversion,
// corrupt frames and reconnects are tested without a camera. Nothing here touches
// /dev.
package capturetest

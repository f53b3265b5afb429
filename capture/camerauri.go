package capture

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// streamSchemes are the URL schemes that Open reads as a network stream
// (through FFmpeg). It is the one list of them: the daemon's configuration
// checks a camera URL with ValidateCamera.
var streamSchemes = []string{"rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp", "srt"}

// hasStreamScheme reports whether s starts with one of streamSchemes and "://".
func hasStreamScheme(s string) bool {
	for _, p := range streamSchemes {
		p += "://"
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// ValidateCamera checks the form of a camera string as [Open] will read it,
// without opening anything: a URL must have a host and one of the stream
// schemes Open reads (rtsp, rtsps, http, https, rtmp, udp, tcp, srt); any other
// string is a V4L2 device (/dev/...), a video file or a folder. It does not
// check that the device, file or folder exists.
func ValidateCamera(camera string) error {
	if strings.TrimSpace(camera) == "" {
		return errors.New("camera: empty (want /dev/videoN, an rtsp:// or http:// URL, a video file or a folder)")
	}
	if strings.ContainsRune(camera, 0) {
		return errors.New("camera: contains a NUL byte")
	}
	scheme, _, isURL := strings.Cut(camera, "://")
	if !isURL {
		return nil
	}
	if !hasStreamScheme(camera) {
		return fmt.Errorf("camera: unsupported scheme %q: want one of %s", scheme, strings.Join(streamSchemes, ", "))
	}
	if u, err := url.Parse(camera); err != nil || u.Host == "" {
		return fmt.Errorf("camera %s: want a URL like %s://host/path", Redact(camera), strings.ToLower(scheme))
	}
	return nil
}

// IsStream reports whether camera names a network stream rather than a device,
// file or folder.
func IsStream(camera string) bool { return hasStreamScheme(camera) }

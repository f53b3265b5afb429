package capture

import (
	"strings"
	"testing"
)

func TestValidateCamera(t *testing.T) {
	for _, tc := range []struct {
		camera string
		want   string // "" means valid
	}{
		{"/dev/video0", ""},
		{"/srv/clips/lane.avi", ""},
		{"rtsp://10.0.3.21/stream1", ""},
		{"RTSPS://user:pw@cam:322/x", ""},
		{"http://cam/mjpg", ""},
		{"srt://10.0.0.1:9000", ""},
		{"", "empty"},
		{"  ", "empty"},
		{"ftp://cam/x", `unsupported scheme "ftp"`},
		{"rtsp:///stream", "rtsp://host/path"},
		{"/dev/vid\x00eo0", "NUL"},
	} {
		err := ValidateCamera(tc.camera)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidateCamera(%q) = %v; want nil", tc.camera, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ValidateCamera(%q) = %v; want an error containing %q", tc.camera, err, tc.want)
		}
	}
}

// TestStreamSchemesAgree: what ValidateCamera takes for a stream is what Open
// reads as one, and the other way round.
func TestStreamSchemesAgree(t *testing.T) {
	for _, s := range streamSchemes {
		u := s + "://host/x"
		if !isURL(u) || !IsStream(u) || ValidateCamera(u) != nil {
			t.Errorf("%s: isURL %v, IsStream %v, ValidateCamera %v", u, isURL(u), IsStream(u), ValidateCamera(u))
		}
	}
	if isURL("ftp://host/x") || IsStream("/dev/video0") {
		t.Error("isURL or IsStream accepts a non-stream camera")
	}
}

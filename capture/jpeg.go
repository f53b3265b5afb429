package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorruptFrame marks a frame that cannot be used: truncated, with a broken
// structure, or undecodable. Such frames are counted and skipped.
var ErrCorruptFrame = errors.New("corrupt frame")

// JPEGInfo is what [ParseJPEG] learns from a JPEG's headers.
type JPEGInfo struct {
	Width, Height int
	// Components is 1 for a grey JPEG and 3 for colour.
	Components int
}

// ParseJPEG walks the marker structure of one JPEG (one MJPEG frame) without decoding
// it: it needs a start-of-image, a frame header with a non-zero size, a scan and an
// end-of-image after the scan. Trailing padding after the end-of-image, which some UVC
// cameras send, is accepted; a missing Huffman table (usual in MJPEG) is not checked.
// Frames that fail here are truncated or damaged and are never handed to the decoder.
func ParseJPEG(b []byte) (JPEGInfo, error) {
	var info JPEGInfo
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return info, fmt.Errorf("%w: no JPEG start-of-image marker", ErrCorruptFrame)
	}
	i := 2
	for {
		// Markers are 0xFF followed by a code; any number of 0xFF fill bytes may precede.
		if i >= len(b) || b[i] != 0xFF {
			return info, fmt.Errorf("%w: JPEG marker expected at byte %d", ErrCorruptFrame, i)
		}
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			return info, fmt.Errorf("%w: JPEG truncated in a marker", ErrCorruptFrame)
		}
		m := b[i]
		i++
		switch {
		case m == 0xD8:
			return info, fmt.Errorf("%w: second JPEG start-of-image at byte %d", ErrCorruptFrame, i-2)
		case m == 0xD9:
			return info, fmt.Errorf("%w: JPEG ends before its scan", ErrCorruptFrame)
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			continue // no length field
		case m == 0x00:
			return info, fmt.Errorf("%w: stuffed byte outside a scan at byte %d", ErrCorruptFrame, i-1)
		}
		if i+2 > len(b) {
			return info, fmt.Errorf("%w: JPEG truncated in a segment length", ErrCorruptFrame)
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return info, fmt.Errorf("%w: JPEG segment 0x%02X of %d bytes does not fit", ErrCorruptFrame, m, n)
		}
		seg := b[i+2 : i+n]
		i += n
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 6 {
				return info, fmt.Errorf("%w: JPEG frame header too short", ErrCorruptFrame)
			}
			info.Height = int(binary.BigEndian.Uint16(seg[1:]))
			info.Width = int(binary.BigEndian.Uint16(seg[3:]))
			info.Components = int(seg[5])
			if info.Width == 0 || info.Height == 0 {
				return info, fmt.Errorf("%w: JPEG frame size %dx%d", ErrCorruptFrame, info.Width, info.Height)
			}
			if info.Components != 1 && info.Components != 3 {
				return info, fmt.Errorf("%w: JPEG with %d components", ErrCorruptFrame, info.Components)
			}
			if len(seg) < 6+3*info.Components {
				return info, fmt.Errorf("%w: JPEG frame header too short", ErrCorruptFrame)
			}
		case m == 0xDA:
			if info.Width == 0 {
				return info, fmt.Errorf("%w: JPEG scan before a frame header", ErrCorruptFrame)
			}
			if bytes.LastIndex(b[i:], []byte{0xFF, 0xD9}) < 0 {
				return info, fmt.Errorf("%w: JPEG without end-of-image (truncated)", ErrCorruptFrame)
			}
			return info, nil
		}
	}
}

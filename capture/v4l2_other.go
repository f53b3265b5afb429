//go:build !linux

package capture

import "errors"

func openV4L2Device(path string) (Device, error) {
	return nil, permanent(errors.New("V4L2 cameras need Linux"))
}

//go:build !linux

package harden

// Apply does nothing off Linux, where lprd and lprctl are not deployed.
func Apply() error { return nil }

// Check reports nothing off Linux: a zero limit and flag.
func Check() (coreLimit uint64, dumpable int, err error) { return 0, 0, nil }

//go:build !linux

package main

// harden is a no-op off Linux, where lprd is not deployed.
func harden() error { return nil }

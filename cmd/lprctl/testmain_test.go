package main

import (
	"os"
	"testing"
)

// TestMain lets a test run the test binary as lprctl itself
// (LPRCTL_TEST_MAIN=1), so that what main does before run (hardening) is
// tested from outside the process.
func TestMain(m *testing.M) {
	if os.Getenv("LPRCTL_TEST_MAIN") == "1" {
		os.Args = append([]string{"lprctl"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoToolCodeInTheDaemon keeps the gateway binary free of the synthetic
// renderer and of font code: they belong to cmd/lprlab, which is never
// installed on a gateway (the package list of a main package is what its
// binary links).
func TestNoToolCodeInTheDaemon(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "github.com/lprd/lprd/ocr/synth") || strings.Contains(strings.ToLower(pkg), "font") {
			t.Errorf("lprd links %s; synthetic-data and font code must stay in cmd/lprlab (see `go mod why -m` / `go list -deps`)", pkg)
		}
	}
}

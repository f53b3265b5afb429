package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lprd/lprd/internal/config"
)

// checkMain implements `lprd check [ENVFILE]`: it validates a configuration
// (the file, or the process environment without one) and prints every problem
// at once. Exit status 0 means the configuration is usable, 1 that it is not,
// 2 a usage error.
func checkMain(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: lprd check [ENVFILE]") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	return config.Check(fs.Arg(0), os.Environ(), os.Stdout)
}

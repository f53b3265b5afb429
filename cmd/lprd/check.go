package main

import (
	"flag"
	"fmt"
	"io"
	"os"
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
	return check(fs.Arg(0), os.Environ(), os.Stdout)
}

func check(path string, environ []string, w io.Writer) int {
	src := path
	if src == "" {
		src = "the environment"
	}
	cfg, problems := loadConfig(path, environ)
	if len(problems) == 0 {
		problems = cfg.checkFiles()
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "%s: %d problem(s):\n", src, len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  %v\n", p)
		}
		return 1
	}
	fmt.Fprintf(w, "%s: ok (device %s, site %s, lane %s, camera %s, broker %s)\n", src, cfg.DeviceID, cfg.Site, cfg.Lane, cfg.Camera, cfg.MQTTBroker)
	return 0
}

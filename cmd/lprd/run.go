package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/lprd/lprd/internal/config"
	"github.com/lprd/lprd/internal/harden"
)

// Exit statuses of `lprd run`, for systemd and operators.
const (
	exitOK      = 0 // clean stop (signal, or the end of a replay with LPRD_EXIT_AT_END)
	exitConfig  = 1 // the configuration has problems (`lprd check` lists them)
	exitUsage   = 2
	exitStartup = 3 // a resource could not be opened at start (key, camera, state folder, model)
	exitRuntime = 4 // the pipeline failed while running
)

// runMain implements `lprd run [-env FILE]`.
func runMain(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	envFile := fs.String("env", "", "read the configuration from this env file instead of the environment")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, problems := config.Load(*envFile, os.Environ())
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "lprd: configuration has %d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "  %v\n", p)
		}
		return exitConfig
	}
	if err := harden.Apply(); err != nil {
		fmt.Fprintf(os.Stderr, "lprd: %v\n", err)
		return exitStartup
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signalContext()
	defer stop()
	err := runDaemon(ctx, cfg, log)
	var se *startupError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		log.Error("cannot start", "err", err)
		return exitStartup
	default:
		log.Error("stopped on error", "err", err)
		return exitRuntime
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by the config
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// startupError marks an error that happened while opening resources, before
// the pipeline ran.
type startupError struct{ err error }

func (e *startupError) Error() string { return e.err.Error() }
func (e *startupError) Unwrap() error { return e.err }

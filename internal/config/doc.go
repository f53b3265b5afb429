// Package config is lprd's configuration: the table of LPRD_* keys with their
// defaults, units and examples (the source of deploy/lprd.env), the env-file
// parser, and the checks `lprd check` and `lprd run` share. Every key is parsed
// by the parser of the package that uses it (plateformat, capture, mqttclient,
// envelope, outbox), and every file it names is opened the way the daemon opens
// it, so a configuration that Check accepts also starts.
//
// The package takes the environment as a parameter and never reads the
// process's own: only cmd/ does. With an env file, the file wins, and an LPRD_*
// variable in the environment that disagrees with it is a problem.
package config

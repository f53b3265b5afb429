package trigger

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

var hostInit = sync.OnceValue(func() error {
	_, err := host.Init()
	return err
})

// Lookup returns the GPIO line with the given kernel name (e.g. "GPIO17"), loading
// periph's host drivers (gpioioctl on /dev/gpiochip*) on first use.
func Lookup(name string) (gpio.PinIO, error) {
	if err := hostInit(); err != nil {
		return nil, fmt.Errorf("gpio %s: load drivers: %w", name, err)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("gpio %s: no such line (list the kernel's line names with gpioinfo; is /dev/gpiochip* readable?)", name)
	}
	return p, nil
}

// hint adds what to do about a permission error.
func hint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (add the lprd user to the gpio group)"
	}
	return ""
}

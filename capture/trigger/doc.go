// Package trigger drives the lane's GPIO: an optional vehicle-presence input (the loop
// detector) that opens and closes vehicle windows, an optional illuminator output that
// is on during a window, and an optional status LED.
//
// The ocr stage asks [Trigger.InWindow] for each frame's capture time: true inside a
// window widened by a margin on both sides, and always true when no presence input is
// configured (a nil *Trigger), so that a lane without a loop processes every frame.
// The fusion stage reads window open and close events from [Trigger.Events].
//
// Pins are periph.io interfaces (gpio.PinIn, gpio.PinOut): [Lookup] finds kernel GPIO
// lines by name on hardware through periph.io/x/host, and tests use gpiotest.Pin.
// periph's WaitForEdge timeout conventions differ between drivers (0 waits forever on
// gpioioctl, -1 returns at once there but blocks on gpiotest), so this package always
// passes a finite, positive timeout and checks its context between waits. The level is
// also read after every wait, so an edge the kernel did not report is caught within
// one poll interval.
//
// The package is cgo-free.
package trigger

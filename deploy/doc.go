// Package deploy holds what is installed on a gateway: the hardened systemd
// unit (lprd.service), the documented env file (lprd.env), the install script
// (install) with its key-permission check (keycheck) and the writer of the
// unit's broker allow list (network-dropin), the arm64 cross build
// (cross-arm64) and the gateway image (image/build, image/smoke, image/boot
// with its --watchdog stall test; none run by the tests). Its tests check the unit
// with systemd-analyze (verify, offline exposure) and against the privacy
// model (no core dumps, no writable paths but the state folder), and install
// twice into a temporary root to show that a second run changes nothing and
// that a key readable by others is refused.
package deploy

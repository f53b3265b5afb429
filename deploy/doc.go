// Package deploy holds what is installed on a gateway: the hardened systemd
// unit (lprd.service), the documented env file (lprd.env) and the install
// script. Its tests check the unit with systemd-analyze and against the
// privacy model (no core dumps, no writable paths but the state folder).
package deploy

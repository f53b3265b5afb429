// Package harden keeps a process's memory out of core dumps and out of reach
// of other processes of the same user. lprd holds frames and plate text, and
// lprctl holds the backend's private key and decrypted reads: neither should
// leave them in a core file when it crashes, nor let a debugger of the same
// user attach.
//
// Apply sets RLIMIT_CORE to 0 (soft and hard, so a child cannot raise it
// again) and clears the dumpable flag (PR_SET_DUMPABLE 0), which also makes
// /proc/PID/mem and ptrace refused to other unprivileged processes. Both are
// one-way for the process; call Apply early in main, before keys are read.
// Off Linux, Apply does nothing.
package harden

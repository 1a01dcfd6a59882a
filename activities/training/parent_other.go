//go:build !linux

package training

import "os/exec"

// dieWithParent has no kernel support outside Linux: the trainer is stopped
// by its context only.
func dieWithParent(*exec.Cmd) {}

package training

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the trainer when the worker that
// started it dies (kill -9 included), so no trainer outlives its worker and
// keeps a GPU busy for a result nobody will collect.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

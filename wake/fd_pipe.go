//go:build aix || darwin

package wake

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newPipe emulates pipe2(O_NONBLOCK|O_CLOEXEC) where pipe2 does not exist.
// ForkLock keeps a concurrent fork+exec from inheriting the descriptors
// before they are marked close-on-exec. Errors are reported under the name
// "pipe2" so that all platforms report the same operation.
func newPipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, os.NewSyscallError("pipe2", err)
	}
	for _, fd := range p {
		if err = unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, -1, os.NewSyscallError("pipe2", err)
		}
	}
	return p[0], p[1], nil
}

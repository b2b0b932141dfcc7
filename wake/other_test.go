//go:build aix || darwin || dragonfly || freebsd || netbsd || openbsd || solaris

package wake

import (
	"errors"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestEventfdUnsupported(t *testing.T) {
	h, err := New(Eventfd)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	var se *os.SyscallError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "eventfd", se.Syscall)
	assert.Nil(t, h)
}

func TestPipe(t *testing.T) {
	h, err := New(Pipe)
	require.NoError(t, err)
	for _, fd := range []int{h.rfd, h.wfd} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		require.NoError(t, err)
		assert.NotZero(t, fl&unix.O_NONBLOCK)
		fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		require.NoError(t, err)
		assert.NotZero(t, fdfl&unix.FD_CLOEXEC)
	}
	n, err := h.Drain()
	require.NoError(t, err)
	assert.Zero(t, n)
	h.Wake()
	h.Carrier().Wake()
	n, err = h.Drain()
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	require.NoError(t, h.Close())
	assert.ErrorIs(t, h.Close(), net.ErrClosed)
}

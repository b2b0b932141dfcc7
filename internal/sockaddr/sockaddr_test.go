//go:build linux

package sockaddr

import (
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestRawAgreesWithSyscall lays addresses out with Put and checks them
// against the kernel: bound to one socket, named by getsockname(2) and
// read back with Parse, they are the address the syscall package reads.
func TestRawAgreesWithSyscall(t *testing.T) {
	tests := []struct {
		name   string
		family int
		sa     unix.Sockaddr
	}{
		{"IPv4", unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}},
		{"IPv6", unix.AF_INET6, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}},
		{"Unix path", unix.AF_UNIX, &unix.SockaddrUnix{Name: t.TempDir() + "/s"}},
		{"Unix abstract", unix.AF_UNIX, &unix.SockaddrUnix{Name: "@ringnet-sockaddr-test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd, err := unix.Socket(tt.family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err)
			defer unix.Close(fd)
			a := FromSockaddr(tt.sa)
			var raw unix.RawSockaddrAny
			l, err := a.Put(&raw)
			require.NoError(t, err)
			_, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&raw)), uintptr(l))
			require.Zero(t, errno, "bind to what Put laid out")
			got, err := unix.Getsockname(fd)
			require.NoError(t, err)
			var back unix.RawSockaddrAny
			n := uint32(unix.SizeofSockaddrAny)
			_, _, errno = unix.Syscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&back)), uintptr(unsafe.Pointer(&n)))
			require.Zero(t, errno)
			parsed := Parse(unsafe.Slice((*byte)(unsafe.Pointer(&back)), unix.SizeofSockaddrAny)[:n])
			assert.Equal(t, FromSockaddr(got), parsed, "Parse against the syscall package")
			if tt.family == unix.AF_UNIX {
				assert.Equal(t, tt.sa.(*unix.SockaddrUnix).Name, parsed.Name)
			} else {
				assert.NotZero(t, parsed.Port, "an automatic port")
			}
		})
	}
}

func TestParseUnnamed(t *testing.T) {
	assert.Equal(t, Addr{}, Parse(nil), "no address: an unnamed Unix sender")
}

func TestPutUnixNameTooLong(t *testing.T) {
	var raw unix.RawSockaddrAny
	for _, name := range []string{string(make([]byte, 108)), "@" + string(make([]byte, 108))} {
		a := Addr{Family: Unix, Name: name}
		_, err := a.Put(&raw)
		assert.Equal(t, syscall.EINVAL, err)
	}
	a := Addr{Family: Unix, Name: "@" + string(make([]byte, 107))}
	l, err := a.Put(&raw)
	require.NoError(t, err, "an abstract name may fill sun_path")
	assert.Equal(t, uint32(unix.SizeofSockaddrUnix), l)
}

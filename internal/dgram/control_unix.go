//go:build unix

package dgram

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	msgTrunc  = unix.MSG_TRUNC
	msgCtrunc = unix.MSG_CTRUNC
)

// copyControl copies the control messages in src into dst as the
// kernel's recvmsg(2) would have copied them into a buffer of len(dst)
// bytes, and returns the bytes used and whether some did not fit
// (MSG_CTRUNC). A message is cut to the room left (put_cmsg), and on a
// Unix socket an SCM_RIGHTS message keeps the descriptors that fit, the
// others being closed (scm_detach_fds): src is the loop's copy of what the
// kernel gave it, and its descriptors are already open.
func copyControl(dst, src []byte, o Options) (n int, truncated bool) {
	for {
		level, typ, data, rest, ok := nextCmsg(src)
		if !ok {
			return n, truncated
		}
		src = rest
		if o.Unix && level == unix.SOL_SOCKET && typ == unix.SCM_RIGHTS {
			k, cut := putRights(dst[n:], data)
			n += k
			truncated = truncated || cut
			continue
		}
		k, cut := putCmsg(dst[n:], level, typ, data)
		n += k
		truncated = truncated || cut
	}
}

// discardControl closes the descriptors that SCM_RIGHTS messages in src
// carry, for a datagram nobody will read.
func discardControl(src []byte, o Options) {
	if o.Unix {
		copyControl(nil, src, o)
	}
}

// nextCmsg splits the first control message off b.
func nextCmsg(b []byte) (level, typ int32, data, rest []byte, ok bool) {
	if len(b) < unix.SizeofCmsghdr {
		return 0, 0, nil, nil, false
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	l := int(h.Len)
	if l < unix.CmsgLen(0) || l > len(b) {
		return 0, 0, nil, nil, false
	}
	data = b[unix.CmsgLen(0):l]
	next := min(unix.CmsgSpace(len(data)), len(b))
	return h.Level, h.Type, data, b[next:], true
}

// putCmsg is the kernel's put_cmsg: it writes one control message into
// dst, cut to dst's room, and returns the room it took and whether it was
// cut.
func putCmsg(dst []byte, level, typ int32, data []byte) (n int, cut bool) {
	if len(dst) < unix.SizeofCmsghdr {
		return 0, true
	}
	l := unix.CmsgLen(len(data))
	if len(dst) < l {
		l, cut = len(dst), true
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
	h.Level, h.Type = level, typ
	h.SetLen(l)
	copy(dst[unix.CmsgLen(0):l], data)
	return min(unix.CmsgSpace(len(data)), len(dst)), cut
}

// putRights is the kernel's scm_detach_fds: it writes the descriptors of
// an SCM_RIGHTS message that fit into dst, closes the others, and returns
// the room it took and whether some were left out.
func putRights(dst []byte, data []byte) (n int, cut bool) {
	const size = 4 // an int
	fds := len(data) / size
	fit := 0
	if len(dst) > unix.SizeofCmsghdr {
		fit = min(fds, (len(dst)-unix.SizeofCmsghdr)/size)
	}
	for i := fit; i < fds; i++ {
		_ = unix.Close(int(int32(binary.NativeEndian.Uint32(data[i*size:]))))
	}
	if fit > 0 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&dst[0]))
		h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_RIGHTS
		h.SetLen(unix.CmsgLen(fit * size))
		copy(dst[unix.CmsgLen(0):], data[:fit*size])
		n = min(unix.CmsgSpace(fit*size), len(dst))
	}
	return n, fit < fds
}

func closeFD(fd int) { _ = unix.Close(fd) }

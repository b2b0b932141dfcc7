//go:build linux

package loop

import (
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// spliceJob is one SendFile from a stream socket: its bytes go to a pipe
// and from the pipe to the connection with IORING_OP_SPLICE, one operation
// in flight at a time, so that they never pass through user space; or,
// with pollOnly, a wait for room in the connection (waitWritable). The job
// holds the connection's send side (the caller holds the stream's
// LockSend), and its operations use the connection's send slot: Close
// waits for them as for a send.
type spliceJob struct {
	src       int   // the source socket
	pollOnly  bool  // no splice: only wait for POLLOUT
	pr, pw    int   // the pipe
	chunk     int   // bytes per source-to-pipe splice: the pipe's size
	remain    int64 // bytes still to take from the source; < 0: to its end
	inPipe    int   // bytes taken from the source, not yet sent
	written   int64
	cancelled bool
	cancelErr error
	err       error
	done      chan struct{}
}

// Default pipe sizes: the kernel's default, and what SendFile asks for
// (the unprivileged maximum by default, /proc/sys/fs/pipe-max-size).
const (
	pipeDefault = 64 << 10
	pipeWanted  = 1 << 20
)

// SendFile implements backend.FileSender. From a regular file it calls
// sendfile(2) on the caller's goroutine and, when the socket is full, waits
// for room through the ring (sendFileRegular). From a stream socket it
// splices through a pipe on the ring, one operation in flight at a time;
// other kinds of src get EINVAL (the caller then copies). Bytes never pass
// through user space either way. The write deadline and Close cancel the
// operation in flight; bytes already moved into the pipe but not sent are
// lost with the error, as with net's splice.
func (c *conn) SendFile(src int, n int64) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return 0, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return c.sendFileRegular(src, n)
	case unix.S_IFSOCK:
	default:
		return 0, unix.EINVAL // the caller copies instead
	}
	l := c.l
	p, err := l.pipes.get()
	if err != nil {
		return 0, err
	}
	job := &spliceJob{src: src, pr: p.r, pw: p.w, chunk: p.size, remain: n, done: make(chan struct{})}
	l.post(func() { l.startSplice(c, job) })
	if err := c.s.WaitSend(job.done); err != nil {
		l.post(func() { l.cancelSplice(c, job, err) })
		<-job.done
	}
	// No operation refers to the pipe once done is closed; one that still
	// holds bytes (a cancelled job, a source socket's error) is not reused.
	l.pipes.put(p, job.inPipe == 0)
	return job.written, job.err
}

// sendfileChunk bounds one sendfile(2) call, so that the write deadline
// and Close are looked at between calls.
const sendfileChunk = 4 << 20

// sendFileRegular sends n bytes (n < 0: to the end) of regular file src
// from its offset with sendfile(2), leaving the offset just past the bytes
// sent. A page-cached file goes out in one system call; splicing it on the
// ring instead cost two splices that io_uring hands to its worker threads
// (BenchmarkSendFile, 16 KiB: 150 µs against the stdlib's 10 µs).
func (c *conn) sendFileRegular(src int, n int64) (written int64, err error) {
	off, err := unix.Seek(src, 0, io.SeekCurrent)
	if err != nil {
		return 0, unix.EINVAL
	}
	defer func() {
		if _, serr := unix.Seek(src, off, io.SeekStart); serr != nil && err == nil {
			err = os.NewSyscallError("lseek", serr)
		}
	}()
	for n != 0 {
		chunk := sendfileChunk
		if n > 0 && n < int64(chunk) {
			chunk = int(n)
		}
		var k int
		var serr error
		if err := c.s.WithFD(func(sfd int) error {
			k, serr = unix.Sendfile(sfd, src, &off, chunk)
			return nil
		}); err != nil {
			return written, err
		}
		if k > 0 {
			c.l.stats.ZeroCopyBytes.Add(uint64(k))
			written += int64(k)
			if n > 0 {
				n -= int64(k)
			}
		}
		switch serr {
		case nil:
			if k == 0 {
				return written, nil // end of file
			}
		case unix.EINTR:
		case unix.EAGAIN:
			if err := c.waitWritable(); err != nil {
				return written, err
			}
		default:
			return written, serr
		}
	}
	return written, nil
}

// waitWritable waits, with a POLLOUT on the ring in the connection's send
// slot, until the socket takes bytes again, the write deadline passes or
// the connection is closed.
func (c *conn) waitWritable() error {
	job := &spliceJob{pollOnly: true, done: make(chan struct{})}
	l := c.l
	l.post(func() { l.startPollOut(c, job) })
	if err := c.s.WaitSend(job.done); err != nil {
		l.post(func() { l.cancelSplice(c, job, err) })
		<-job.done
		return err
	}
	return job.err
}

func (l *Loop) startPollOut(c *conn, job *spliceJob) {
	if c.closing || c.dead {
		job.err = stream.ErrClosed
		close(job.done)
		return
	}
	c.splice = job
	l.prepPollOut(c.fd, c.ud(udPollOut))
	c.sendArmed, c.sendCancelled, c.sendOp = true, false, udPollOut
}

// splicePipe is a pipe for SendFile, both ends non-blocking.
type splicePipe struct{ r, w, size int }

func newSplicePipe() (splicePipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return splicePipe{}, os.NewSyscallError("pipe2", err)
	}
	size, err := unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeWanted)
	if err != nil {
		size = pipeDefault
	}
	return splicePipe{r: fds[0], w: fds[1], size: size}, nil
}

func (p splicePipe) close() {
	_ = unix.Close(p.r)
	_ = unix.Close(p.w)
}

// pipeCache keeps a few empty pipes of a loop for later SendFiles from
// sockets (a proxy's io.Copy makes one per connection): a pipe costs pipe2,
// an fcntl to size it and two closes. The loop closes them when it stops.
type pipeCache struct {
	mu     sync.Mutex
	free   []splicePipe
	closed bool
}

// pipeCacheMax bounds the pipes a loop keeps: as many as SendFiles that
// commonly run at once on it.
const pipeCacheMax = 4

func (pc *pipeCache) get() (splicePipe, error) {
	pc.mu.Lock()
	if n := len(pc.free); n > 0 {
		p := pc.free[n-1]
		pc.free = pc.free[:n-1]
		pc.mu.Unlock()
		return p, nil
	}
	pc.mu.Unlock()
	return newSplicePipe()
}

// put keeps p for the next SendFile if it is empty and there is room, and
// closes it otherwise.
func (pc *pipeCache) put(p splicePipe, empty bool) {
	pc.mu.Lock()
	if empty && !pc.closed && len(pc.free) < pipeCacheMax {
		pc.free = append(pc.free, p)
		pc.mu.Unlock()
		return
	}
	pc.mu.Unlock()
	p.close()
}

// close closes the kept pipes; later puts close theirs.
func (pc *pipeCache) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.closed = true
	for _, p := range pc.free {
		p.close()
	}
	pc.free = nil
}

func (l *Loop) startSplice(c *conn, job *spliceJob) {
	if c.closing || c.dead {
		job.err = stream.ErrClosed
		close(job.done)
		return
	}
	c.splice = job
	l.spliceIn(c, job)
}

// spliceIn moves the next chunk of the source into the (empty) pipe.
func (l *Loop) spliceIn(c *conn, job *spliceJob) {
	n := job.chunk
	if job.remain >= 0 && job.remain < int64(n) {
		n = int(job.remain)
	}
	l.prepSplice(job.src, job.pw, n, c.ud(udSpliceIn))
	c.sendArmed, c.sendCancelled, c.sendOp = true, false, udSpliceIn
}

// spliceOut moves what the pipe holds to the socket.
func (l *Loop) spliceOut(c *conn, job *spliceJob) {
	l.prepSplice(job.pr, c.fd, job.inPipe, c.ud(udSpliceOut))
	c.sendArmed, c.sendCancelled, c.sendOp = true, false, udSpliceOut
}

// cancelSplice stops a job whose caller gave up (deadline, Close).
func (l *Loop) cancelSplice(c *conn, job *spliceJob, err error) {
	if c.splice != job || job.cancelled {
		return
	}
	job.cancelled, job.cancelErr = true, err
	if c.sendArmed && !c.sendCancelled {
		l.prepCancel(c.ud(c.sendOp))
		c.sendCancelled = true
	}
}

func (l *Loop) completeSplice(c *conn, op udOp, res int32) {
	job := c.splice
	c.sendArmed = false
	if op == udSpliceIn && res > 0 {
		job.inPipe = int(res)
		if job.remain > 0 {
			job.remain -= int64(res)
		}
	}
	if op == udSpliceOut && res > 0 {
		job.inPipe -= int(res)
		job.written += int64(res)
		l.stats.ZeroCopyBytes.Add(uint64(res))
	}
	switch {
	case job.cancelled:
		l.endSplice(c, job, job.cancelErr)
	case job.pollOnly && res < 0 && res != -int32(unix.EINTR):
		l.endSplice(c, job, syscall.Errno(-res))
	case job.pollOnly:
		l.endSplice(c, job, nil) // writable (or EINTR: the caller retries)
	case res == -int32(unix.EINTR):
		l.spliceStep(c, job)
	case op == udPollOut && res >= 0:
		l.spliceOut(c, job)
	case op == udPollIn && res >= 0:
		l.spliceIn(c, job)
	case res == -int32(unix.EAGAIN) && op == udSpliceIn:
		// Nothing to read yet: wait for the source through the ring.
		l.prepPollIn(job.src, c.ud(udPollIn))
		c.sendArmed, c.sendOp = true, udPollIn
	case res == -int32(unix.EAGAIN) && op == udSpliceOut:
		// The socket is full: wait for room through the ring.
		l.prepPollOut(c.fd, c.ud(udPollOut))
		c.sendArmed, c.sendOp = true, udPollOut
	case res < 0:
		l.endSplice(c, job, syscall.Errno(-res))
	case op == udSpliceIn && res == 0:
		l.endSplice(c, job, nil) // the source's end
	default:
		l.spliceStep(c, job)
	}
}

// spliceStep arms what comes next: drain the pipe, then refill it.
func (l *Loop) spliceStep(c *conn, job *spliceJob) {
	switch {
	case job.inPipe > 0:
		l.spliceOut(c, job)
	case job.remain == 0:
		l.endSplice(c, job, nil)
	default:
		l.spliceIn(c, job)
	}
}

// endSplice ends a job. Bytes taken from the source socket but not sent
// (job.inPipe) are lost with the error, as with net's splice.
func (l *Loop) endSplice(c *conn, job *spliceJob, err error) {
	c.splice = nil
	job.err = err
	close(job.done)
	l.progressClose(c)
}

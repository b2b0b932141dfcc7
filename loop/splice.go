//go:build linux

package loop

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/stream"
)

// spliceJob is one SendFile: file bytes go to a pipe and from the pipe to
// the socket with IORING_OP_SPLICE, one operation in flight at a time, so
// that they never pass through user space. The job holds the connection's
// send side (the caller holds the stream's LockSend), and its operations
// use the connection's send slot: Close waits for them as for a send.
type spliceJob struct {
	src        int   // the file, or a connected stream socket
	fromSocket bool  // src is a socket: wait for POLLIN on -EAGAIN
	pr, pw     int   // the pipe
	chunk      int   // bytes per file-to-pipe splice: the pipe's size
	remain     int64 // bytes still to take from the file; < 0: to the end
	inPipe     int   // bytes taken from the file, not yet sent
	written    int64
	cancelled  bool
	cancelErr  error
	err        error
	done       chan struct{}
}

// Default pipe sizes: the kernel's default, and what SendFile asks for
// (the unprivileged maximum by default, /proc/sys/fs/pipe-max-size).
const (
	pipeDefault = 64 << 10
	pipeWanted  = 1 << 20
)

// SendFile implements backend.FileSender: it moves n bytes (n < 0: to the
// end) of regular file src, or of stream socket src, to the socket through
// a pipe, with splices on the ring; other kinds of src get EINVAL. The write deadline and Close cancel the operation in flight;
// bytes already moved into the pipe but not sent are given back to the
// file by moving its offset back, so the offset stands just past the
// bytes sent.
func (c *conn) SendFile(src int, n int64) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return 0, err
	}
	fromSocket := false
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFSOCK:
		fromSocket = true
	default:
		return 0, unix.EINVAL // the caller copies instead
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	chunk, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeWanted)
	if err != nil {
		chunk = pipeDefault
	}
	job := &spliceJob{src: src, fromSocket: fromSocket, pr: p[0], pw: p[1], chunk: chunk, remain: n, done: make(chan struct{})}
	l := c.l
	l.post(func() { l.startSplice(c, job) })
	if err := c.s.WaitSend(job.done); err != nil {
		l.post(func() { l.cancelSplice(c, job, err) })
		<-job.done
	}
	return job.written, job.err
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

// spliceIn moves the next chunk of the file into the (empty) pipe.
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
	case res == -int32(unix.EINTR):
		l.spliceStep(c, job)
	case op == udPollOut && res >= 0:
		l.spliceOut(c, job)
	case op == udPollIn && res >= 0:
		l.spliceIn(c, job)
	case res == -int32(unix.EAGAIN) && op == udSpliceIn && job.fromSocket:
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
		l.endSplice(c, job, nil) // end of file
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

func (l *Loop) endSplice(c *conn, job *spliceJob, err error) {
	c.splice = nil
	if job.inPipe > 0 && !job.fromSocket {
		// Read from the file but not sent: give the bytes back. (From
		// a socket they are lost with the error, as with net's splice.)
		if _, serr := unix.Seek(job.src, -int64(job.inPipe), io.SeekCurrent); serr != nil && err == nil {
			err = os.NewSyscallError("lseek", serr)
		}
	}
	job.err = err
	close(job.done)
	l.progressClose(c)
}

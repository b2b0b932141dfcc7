//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// serverStartTimeout bounds how long a server may take to start listening.
const serverStartTimeout = 15 * time.Second

// server is a running bench/server process, possibly under perf stat.
type server struct {
	proc     *child   // perf, or the server itself
	pid      int      // the server's own process id
	addr     string   // where it listens
	perf     *perfCtl // nil when syscalls are not counted
	perfOut  string   // perf stat's output file
	cpuStart time.Duration
	stopped  bool
}

// serverSpec says which server to start and how.
type serverSpec struct {
	bin    string // the server binary
	impl   impl
	env    []string // environment beyond impl's
	mode   string   // the server's -mode
	pinned bool     // on CPU 0 only
	perf   bool     // under perf stat
	tmp    string   // directory for perf's output
	tag    string   // names perf's output file
}

// startServer starts a server and waits until it listens.
func startServer(ctx context.Context, sp serverSpec) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	argv := []string{sp.bin, "-impl", sp.impl.server, "-mode", sp.mode, "-addr", s.addr}
	if sp.pinned {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	var extra []*os.File
	if sp.perf {
		if s.perf, err = newPerfCtl(); err != nil {
			return nil, err
		}
		s.perfOut = filepath.Join(sp.tmp, "perf-"+sp.tag+".txt")
		argv = perfCommand(s.perfOut, argv)
		extra = s.perf.child
	}
	s.proc, err = startChild(ctx, argv, append(slices.Clone(sp.impl.env), sp.env...), extra, false)
	if s.perf != nil {
		s.perf.closeChild()
	}
	if err != nil {
		s.closePerf()
		return nil, err
	}
	line, err := s.proc.out.next(serverStartTimeout, s.proc.done)
	if err == nil {
		_, err = fmt.Sscanf(line, "ready pid=%d", &s.pid)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("server did not start: %v: %s", err, s.proc.diag())
	}
	return s, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// begin starts the measured window: it notes the server's CPU time and
// starts perf's counters.
func (s *server) begin() error {
	var err error
	if s.cpuStart, err = cpuTime(s.pid); err != nil {
		return err
	}
	if s.perf != nil {
		return s.perf.enable()
	}
	return nil
}

// end closes the measured window and returns the CPU time the server used
// in it.
func (s *server) end() (time.Duration, error) {
	if s.perf != nil {
		if err := s.perf.disable(); err != nil {
			return 0, err
		}
	}
	cpu, err := cpuTime(s.pid)
	return cpu - s.cpuStart, err
}

// window runs load as the measured window, between begin and end, and
// returns the CPU time the server used in it. load's error comes first.
func (s *server) window(load func() error) (time.Duration, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	err := load()
	cpu, endErr := s.end()
	if err != nil {
		return 0, err
	}
	return cpu, endErr
}

// stop interrupts the server and waits for it (and perf) to exit, killing
// them if they linger. It is safe to call more than once.
func (s *server) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	select {
	case <-s.proc.done:
	default:
		if s.pid > 0 {
			syscall.Kill(s.pid, syscall.SIGINT)
		} else {
			s.proc.kill()
		}
	}
	s.proc.wait(10 * time.Second)
	s.closePerf()
}

func (s *server) closePerf() {
	if s.perf != nil {
		s.perf.close()
	}
}

// counts returns perf's counts over the measured window, once stopped.
func (s *server) counts() (map[string]uint64, error) {
	b, err := os.ReadFile(s.perfOut)
	if err != nil {
		return nil, err
	}
	return parsePerf(string(b))
}

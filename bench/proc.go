//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the harness started. It runs in a process group of
// its own, is sent SIGKILL if the harness dies, and has its whole group
// killed when its context ends.
type child struct {
	cmd   *exec.Cmd
	out   *lineFeed // standard output
	errs  *lineFeed // standard error
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has exited
	err   error         // how it exited, once done is closed
}

// startChild starts argv with env added to the environment and extra as
// descriptors 3 and on. With stdin, child.stdin is a pipe to its input.
func startChild(ctx context.Context, argv, env []string, extra []*os.File, stdin bool) (*child, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = extra
	c := &child{cmd: cmd, out: newLineFeed(), errs: newLineFeed(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.errs
	if stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		c.stdin = w
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// wait waits up to timeout for the process to exit, then kills its group
// and waits for that.
func (c *child) wait(timeout time.Duration) error {
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.kill()
		<-c.done
		return fmt.Errorf("%s still running after %v: killed", c.cmd.Args[0], timeout)
	}
}

// kill sends SIGKILL to the child's process group.
func (c *child) kill() {
	select {
	case <-c.done:
	default:
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// diag returns the end of what the process wrote, for error messages.
func (c *child) diag() string {
	s := strings.TrimSpace(tail(c.errs.text()) + " " + tail(c.out.text()))
	if s == "" {
		return "no output"
	}
	return s
}

//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Counters perf stat keeps for the server's whole process.
const (
	evSyscalls = "raw_syscalls:sys_enter"
	evEnters   = "syscalls:sys_enter_io_uring_enter"
	evSwitches = "context-switches"
)

var perfEvents = []string{evSyscalls, evEnters, evSwitches}

// perfCheck returns nil if perf stat can count perfEvents here.
func perfCheck(ctx context.Context) error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf not installed (%s)", installHint)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "perf", "stat", "-x,", "-e", strings.Join(perfEvents, ","), "-o", os.DevNull, "--", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("perf stat cannot count %s: %v: %s", strings.Join(perfEvents, ","), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// perfCommand returns the command line that runs argv under perf stat with
// its counters disabled until enabled through a perfCtl, writing the counts
// to out. The control descriptors are the command's ExtraFiles 0 and 1.
func perfCommand(out string, argv []string) []string {
	return append([]string{"perf", "stat", "-x,", "-e", strings.Join(perfEvents, ","),
		"-D", "-1", "--control", "fd:3,4", "-o", out, "--"}, argv...)
}

// perfCtl switches the counters of a perf stat started by perfCommand.
type perfCtl struct {
	ctl, ack *os.File   // our ends of the control and acknowledgement pipes
	child    []*os.File // perf's ends
	acks     *bufio.Reader
}

// newPerfCtl makes the pipes; attach perfCtl.child as the command's
// ExtraFiles and call closeChild once it has started.
func newPerfCtl() (*perfCtl, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	return &perfCtl{ctl: ctlW, ack: ackR, child: []*os.File{ctlR, ackW}, acks: bufio.NewReader(ackR)}, nil
}

// closeChild closes perf's ends of the pipes in this process.
func (p *perfCtl) closeChild() {
	for _, f := range p.child {
		f.Close()
	}
}

// close closes this process's ends of the pipes.
func (p *perfCtl) close() {
	p.ctl.Close()
	p.ack.Close()
}

// enable starts counting; disable stops it. Each waits for perf's ack.
func (p *perfCtl) enable() error  { return p.send("enable") }
func (p *perfCtl) disable() error { return p.send("disable") }

func (p *perfCtl) send(cmd string) error {
	if _, err := p.ctl.WriteString(cmd + "\n"); err != nil {
		return fmt.Errorf("perf %s: %w", cmd, err)
	}
	p.ack.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := p.acks.ReadString('\n')
	if err != nil {
		return fmt.Errorf("perf %s: no ack: %w", cmd, err)
	}
	// perf writes its acks with their C string terminator: "ack\n\0".
	if strings.Trim(line, "\x00\n") != "ack" {
		return fmt.Errorf("perf %s: ack %q", cmd, line)
	}
	return nil
}

// parsePerf reads the counts from perf stat -x, output.
func parsePerf(text string) (map[string]uint64, error) {
	counts := map[string]uint64{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("perf: %s not counted: %q", f[2], f[0])
		}
		counts[f[2]] = n
	}
	for _, ev := range perfEvents {
		if _, ok := counts[ev]; !ok {
			return nil, fmt.Errorf("perf: no count for %s", ev)
		}
	}
	return counts, nil
}

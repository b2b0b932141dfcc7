//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clientProc is a running client subcommand (see client.go).
type clientProc struct {
	proc *child
	d    time.Duration
}

// startClient starts a client of w's shape against addr that echoes for d,
// and waits until it has connected.
func startClient(ctx context.Context, w workload, addr string, d, warm time.Duration) (*clientProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{self, "client", "-addr", addr, "-conns", strconv.Itoa(w.conns), "-size", strconv.Itoa(w.size),
		"-d", d.String(), "-warm", warm.String()}
	if w.kind == grpcLoad {
		proto := "grpc-unary"
		if w.stream {
			proto = "grpc-stream"
		}
		argv = append(argv, "-proto", proto, "-streams", strconv.Itoa(w.streams))
	}
	if w.pinned {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	p, err := startChild(ctx, argv, nil, nil, true)
	if err != nil {
		return nil, err
	}
	c := &clientProc{proc: p, d: d}
	line, err := p.out.next(warm+60*time.Second, p.done)
	if err == nil && line != "ready" {
		err = fmt.Errorf("said %q", line)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("client did not connect: %v: %s", err, p.diag())
	}
	return c, nil
}

// run tells the client to go and returns what it measured.
func (c *clientProc) run() (clientResult, error) {
	if _, err := c.proc.stdin.Write([]byte("go\n")); err != nil {
		return clientResult{}, fmt.Errorf("client: %w", err)
	}
	line, err := c.proc.out.next(c.d+30*time.Second, c.proc.done)
	if err != nil {
		return clientResult{}, fmt.Errorf("client: %v: %s", err, c.proc.diag())
	}
	return parseClientResult(line)
}

// parseClientResult reads the client's result line. A result that counts
// failed connections or callers, or no round trip, is an error.
func parseClientResult(line string) (clientResult, error) {
	var res clientResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return res, fmt.Errorf("client said %q: %w", line, err)
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("client: %d of its connections or callers failed, first: %s", res.Errors, res.FirstError)
	}
	if res.Msgs == 0 || res.Seconds <= 0 {
		return res, fmt.Errorf("client: no round trip completed")
	}
	return res, nil
}

// close lets the client close its connections and exit.
func (c *clientProc) close() {
	c.proc.stdin.Close()
	c.proc.wait(15 * time.Second)
}

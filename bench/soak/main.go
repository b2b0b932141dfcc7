// Command soak runs ringnet under mixed, churning traffic for a while and
// checks that it stays healthy: no errors, and a flat memory and goroutine
// profile once warmed up.
//
//	go run ./bench/soak -d 10m                   # the default backend (auto)
//	go run ./bench/soak -d 2m -backend io_uring
//	go run ./bench/soak -d 2m -backend poll
//
// One process, loopback only. The server side is ringnet: listeners made
// with ringnet.ListenConfig{Backend: -backend} serve HTTP/1.1 (with a
// WebSocket echo endpoint, github.com/coder/websocket), HTTP/2 over TLS
// (ALPN h2, a certificate generated at start) and a raw TCP echo. Client
// goroutines (standard library) drive all of them with connection churn:
// keep-alive and one-request connections, TLS connections dropped and
// redialed, echo and WebSocket sessions of random length, and deliberate
// resets in the middle of uploads, downloads and echo sessions.
//
// Every -sample (10 s) it records the process's resident memory (VmRSS),
// its goroutine count and ringnet.Stats() totals. At the end it prints a
// table and the first, last and largest value of RSS and goroutines after
// the warm-up, and writes the same into -out (docs/soak.md), replacing only
// this backend's section so that runs of several backends share the file.
// It exits 1 if any unexpected error happened, or if the loops did not
// stop after everything was closed.
//
// Everything is bounded: the traffic stops after -d, every operation has a
// timeout, and a watchdog ends the process if shutting down takes longer
// than a minute.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ringnet/ringnet"
)

type config struct {
	d       time.Duration
	backend string
	sample  time.Duration
	workers int
	pause   time.Duration
	warmup  time.Duration
	out     string
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.d, "d", 10*time.Minute, "how long the traffic runs")
	flag.StringVar(&cfg.backend, "backend", "auto", "ringnet backend of the server: auto, io_uring or poll; stdlib runs the\n"+
		"same soak on the standard library's listeners, as a reference")
	flag.DurationVar(&cfg.sample, "sample", 10*time.Second, "sampling interval")
	flag.IntVar(&cfg.workers, "workers", 2, "client goroutines per kind of traffic (6 kinds)")
	flag.DurationVar(&cfg.pause, "pause", 2*time.Millisecond, "pause of each client between operations (keeps a shared machine usable)")
	flag.DurationVar(&cfg.warmup, "warmup", 0, "samples taken before this are warm-up (default: min(30s, d/4))")
	flag.StringVar(&cfg.out, "out", "docs/soak.md", "markdown file to write this backend's section to (empty: none)")
	flag.Parse()
	if cfg.d <= 0 || cfg.sample <= 0 || cfg.workers <= 0 {
		fmt.Fprintln(os.Stderr, "soak: -d, -sample and -workers must be positive")
		os.Exit(2)
	}
	switch cfg.backend {
	case "auto", "io_uring", "poll", "stdlib":
	default:
		fmt.Fprintf(os.Stderr, "soak: -backend %q: want auto, io_uring, poll (or stdlib, the reference)\n", cfg.backend)
		os.Exit(2)
	}
	if cfg.warmup <= 0 {
		cfg.warmup = min(30*time.Second, cfg.d/4)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	md := res.markdown()
	fmt.Print(res.text())
	if cfg.out != "" {
		if err := writeSection(cfg.out, res.sectionName(), md); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote the %s section of %s\n", res.sectionName(), cfg.out)
	}
	if !res.ok() {
		os.Exit(1)
	}
}

// run starts the servers and the clients, samples until the traffic ends,
// then shuts everything down and checks that the loops stopped.
func run(ctx context.Context, cfg config) (*result, error) {
	res := &result{cfg: cfg, start: time.Now(), goVersion: runtime.Version(), cpus: runtime.NumCPU(),
		kernel: kernelRelease()}
	srv, err := startServers(cfg.backend)
	if err != nil {
		return nil, err
	}
	res.backend = srv.backendName()
	res.reason = ringnet.BackendReason()
	fmt.Printf("soak: %s backend, %v of traffic, %d client goroutines, sampling every %v\n",
		res.backend, cfg.d, 6*cfg.workers, cfg.sample)

	// The watchdog: whatever happens, the process ends.
	watchdog := time.AfterFunc(cfg.d+time.Minute+cfg.sample, func() {
		fmt.Fprintln(os.Stderr, "soak: watchdog: shutting down took more than a minute; goroutines:")
		buf := make([]byte, 1<<20)
		os.Stderr.Write(buf[:runtime.Stack(buf, true)])
		os.Exit(3)
	})
	defer watchdog.Stop()

	cl := newClients(srv, cfg)
	trafficCtx, cancel := context.WithTimeout(ctx, cfg.d)
	defer cancel()
	res.samples = append(res.samples, takeSample(0, srv, cl))
	done := cl.start(trafficCtx)

	ticker := time.NewTicker(cfg.sample)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-trafficCtx.Done():
			break loop
		case <-ticker.C:
			s := takeSample(time.Since(res.start), srv, cl)
			res.samples = append(res.samples, s)
			fmt.Println(s.line())
		}
	}
	res.traffic = time.Since(res.start)
	// Clients stop at their next operation (each is bounded by its own
	// timeout); then the servers close.
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		res.notes = append(res.notes, "clients did not all stop within 30s of the end")
	}
	res.final = takeSample(time.Since(res.start), srv, cl)
	cl.close()
	res.shutdownErr = srv.shutdown(20 * time.Second)
	res.loopsStopped, res.afterClose = waitLoopsStopped(10 * time.Second)
	res.goroutinesAfter = runtime.NumGoroutine()
	res.ops, res.errs, res.errSamples = cl.counts()
	res.serverErrs, res.serverErrSamples = srv.errors()
	res.resets = cl.resets.Load()
	return res, nil
}

// waitLoopsStopped waits for ringnet's loops to stop by themselves once
// the last listener and connection are closed.
func waitLoopsStopped(d time.Duration) (bool, []ringnet.LoopStats) {
	var st []ringnet.LoopStats
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st = ringnet.Stats(); len(st) == 0 {
			return true, nil
		}
	}
	return false, st
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(b))
}

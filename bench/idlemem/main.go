//go:build linux

// Command idlemem explains what an idle connection costs the benchmark's
// echo server in memory. For each implementation it starts the server and
// a load client as two processes; the client opens -n connections, echoes
// 16 bytes on each (as the harness's idle-10k workload does), and holds
// them. The server then reports, per connection, the growth of its RSS,
// goroutine stacks and heap.
//
// The "handler-only" row runs the echo handler's own share without any
// socket: -n goroutines that each allocate the 32 KiB buffer, write 16
// bytes into it and block. It is the floor any transport serving this
// handler pays, so ringnet ÷ stdlib cannot go below
// handler-only ÷ stdlib.
//
//	go run ./bench/idlemem -n 10000
//
// Traffic goes to 127.0.0.1 only; every process it starts exits with it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/bench/internal/fdlimit"
)

const (
	echoBuffer = 32 << 10 // bench/server's per-connection buffer
	message    = 16       // bytes each connection echoes once
)

func main() {
	role := flag.String("role", "", "internal: server or client")
	impl := flag.String("impl", "", "internal: stdlib, ringnet or handler-only")
	addr := flag.String("addr", "", "internal: the server's address")
	n := flag.Int("n", 10_000, "idle connections")
	flag.Parse()
	log.SetFlags(0)
	if _, err := fdlimit.Raise(uint64(*n) + 256); err != nil {
		log.Fatal(err)
	}
	switch *role {
	case "server":
		serve(*impl, *n)
	case "client":
		client(*addr, *n)
	default:
		orchestrate(*n)
	}
}

// sample is one measurement of the server process.
type sample struct{ rss, stack, heap uint64 }

func measure() sample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return sample{rss: rssBytes(), stack: ms.StackInuse, heap: ms.HeapInuse}
}

// rssBytes reads VmRSS from /proc/self/status.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (s sample) String() string { return fmt.Sprintf("%d %d %d", s.rss, s.stack, s.heap) }

// serve is the server process: it prints "addr A" and "before S", serves
// until n connections have echoed once, prints "after S", and exits when
// its standard input closes.
func serve(impl string, n int) {
	var echoed atomic.Int64
	handler := func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, echoBuffer)
		first := true
		for {
			k, err := c.Read(buf)
			if k > 0 {
				if _, werr := c.Write(buf[:k]); werr != nil {
					return
				}
				if first {
					first = false
					echoed.Add(1)
				}
			}
			if err != nil {
				return
			}
		}
	}
	block := make(chan struct{})
	var ln net.Listener
	var err error
	switch impl {
	case "stdlib":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "ringnet":
		ln, err = ringnet.Listen("tcp", "127.0.0.1:0")
	case "handler-only":
	default:
		err = fmt.Errorf("unknown -impl %q", impl)
	}
	if err != nil {
		log.Fatal(err)
	}
	if ln != nil {
		fmt.Println("addr", ln.Addr())
	} else {
		fmt.Println("addr none")
	}
	fmt.Println("before", measure())
	if ln != nil {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				go handler(c)
			}
		}()
	} else {
		bufs := make([][]byte, n) // the buffers escape to the heap, as the handler's do
		for i := range n {
			go func() {
				bufs[i] = make([]byte, echoBuffer)
				copy(bufs[i], "0123456789abcdef")
				echoed.Add(1)
				<-block
				runtime.KeepAlive(bufs[i]) // live while blocked, as the handler's is in Read
			}()
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for echoed.Load() < int64(n) {
		if time.Now().After(deadline) {
			log.Fatalf("only %d of %d connections echoed in 60 s", echoed.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let the loops settle
	fmt.Println("after", measure())
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(block)
}

// client is the load process: n connections each echo message bytes once,
// then it prints "ready" and holds them until its standard input closes.
func client(addr string, n int) {
	conns := make([]net.Conn, 0, n)
	msg := make([]byte, message)
	buf := make([]byte, message)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			log.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			log.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

func orchestrate(n int) {
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d idle connections, each echoed %d B once; growth per connection (KiB)\n\n", n, message)
	fmt.Println("| server | RSS | goroutine stacks | heap in use |")
	fmt.Println("|---|---:|---:|---:|")
	for _, impl := range []string{"stdlib", "ringnet", "handler-only"} {
		before, after, err := run(self, impl, n)
		if err != nil {
			log.Fatalf("%s: %v", impl, err)
		}
		per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
		fmt.Printf("| %s | %.2f | %.2f | %.2f |\n", impl,
			per(before.rss, after.rss), per(before.stack, after.stack), per(before.heap, after.heap))
	}
}

// run starts a server and (unless handler-only) a client, and returns the
// server's two samples.
func run(self, impl string, n int) (before, after sample, err error) {
	srv := exec.Command(self, "-role", "server", "-impl", impl, "-n", strconv.Itoa(n))
	srv.Env = append(os.Environ(), "RINGNET_BACKEND=io_uring")
	srv.Stderr = os.Stderr
	srvIn, err := srv.StdinPipe()
	if err != nil {
		return before, after, err
	}
	srvOut, err := srv.StdoutPipe()
	if err != nil {
		return before, after, err
	}
	if err := srv.Start(); err != nil {
		return before, after, err
	}
	defer func() {
		srvIn.Close()
		_ = srv.Wait()
	}()
	lines := bufio.NewScanner(srvOut)
	next := func(key string) (string, error) {
		if !lines.Scan() {
			return "", fmt.Errorf("server exited before %q", key)
		}
		k, v, _ := strings.Cut(lines.Text(), " ")
		if k != key {
			return "", fmt.Errorf("server said %q, want %q", lines.Text(), key)
		}
		return v, nil
	}
	addr, err := next("addr")
	if err != nil {
		return before, after, err
	}
	v, err := next("before")
	if err != nil {
		return before, after, err
	}
	fmt.Sscan(v, &before.rss, &before.stack, &before.heap)
	if impl != "handler-only" {
		cl := exec.Command(self, "-role", "client", "-addr", addr, "-n", strconv.Itoa(n))
		cl.Stderr = os.Stderr
		clIn, err := cl.StdinPipe()
		if err != nil {
			return before, after, err
		}
		if err := cl.Start(); err != nil {
			return before, after, err
		}
		defer func() {
			clIn.Close()
			_ = cl.Wait()
		}()
	}
	v, err = next("after")
	if err != nil {
		return before, after, err
	}
	fmt.Sscan(v, &after.rss, &after.stack, &after.heap)
	return before, after, nil
}

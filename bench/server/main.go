//go:build linux

// Command server is the server the benchmark harness (go run ./bench)
// drives: one binary whose listener implementation and protocol are chosen
// by flags, so that every implementation serves exactly the same code.
//
//	server -impl stdlib|ringnet|gouring -mode http|echo -addr 127.0.0.1:8080
//
// Once listening it prints one line to standard output,
//
//	ready pid=PID addr=ADDR
//
// and then serves until it is signalled. It dies with its parent process.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/bench/internal/fdlimit"
)

// minFiles is the open-file limit the server needs: the idle-connection
// workload holds 10,000 connections.
const minFiles = 10_240

// modes maps -mode to the function that serves a listener.
var modes = map[string]func(net.Listener) error{
	"http": serveHTTP,
	"echo": serveEcho,
}

func main() {
	impl := flag.String("impl", "stdlib", "listener implementation: "+strings.Join(keys(listeners), "|"))
	mode := flag.String("mode", "http", "protocol: "+strings.Join(keys(modes), "|"))
	addr := flag.String("addr", "127.0.0.1:8080", "TCP address to listen on")
	flag.Parse()
	log.SetPrefix("server: ")

	listen, ok := listeners[*impl]
	if !ok {
		log.Fatalf("unknown -impl %q", *impl)
	}
	serve, ok := modes[*mode]
	if !ok {
		log.Fatalf("unknown -mode %q", *mode)
	}
	// Die with the harness's process (perf, or the harness itself), so an
	// interrupted benchmark leaves no server behind.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		log.Fatalf("prctl: %v", err)
	}
	if _, err := fdlimit.Raise(minFiles); err != nil {
		log.Fatal(err)
	}
	ln, err := listen(*addr)
	if err != nil {
		log.Fatalf("%s listen: %v", *impl, err)
	}
	fmt.Printf("ready pid=%d addr=%s\n", os.Getpid(), *addr)
	log.Fatal(serve(ln))
}

// keys returns m's keys in order.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

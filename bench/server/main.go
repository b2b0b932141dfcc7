//go:build linux

// Command server is the server the benchmark harness (go run ./bench)
// drives: one binary whose listener implementation and protocol are chosen
// by flags, so that every implementation serves exactly the same code.
//
//	server -impl stdlib|ringnet|gouring -mode http|https|h2c|echo|grpc -addr 127.0.0.1:8080
//
// The HTTP modes serve the same handlers (see newMux): http over HTTP/1.1,
// h2c over HTTP/1.1 and cleartext HTTP/2, https over TLS 1.3 with HTTP/2 or
// HTTP/1.1 by ALPN. grpc serves gRPC's benchmark service, echo echoes.
// GOMAXPROCS in the environment sets ringnet's loop count too (its Loops
// default).
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
	"http":  serveHTTP,
	"https": serveHTTPS,
	"h2c":   serveH2C,
	"echo":  serveEcho,
	"grpc":  serveGRPC,
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

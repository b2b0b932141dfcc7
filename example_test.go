package ringnet_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/ringnet/ringnet"
)

// Serving HTTP over io_uring is a one-line change: Listen comes from
// ringnet instead of net.
func ExampleListen() {
	ln, err := ringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello, World!")
	})}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	fmt.Println(string(body))
	// Output: Hello, World!
}

// A ListenConfig sets the loops' shape besides what net.ListenConfig has.
func ExampleListenConfig_Listen() {
	lc := ringnet.ListenConfig{Loops: 1, Buffers: 64, BufferSize: 4096}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()

	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: ping
}

// The client side swaps the same way: an http.Transport whose connections
// are dialed, and then served, by ringnet's loops.
func ExampleDialContext() {
	ln, err := ringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over the ring both ways")
	})}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	tr := &http.Transport{DialContext: ringnet.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: over the ring both ways
}

// A Dialer has net.Dialer's fields: here a timeout and a local address.
func ExampleDialer_DialContext() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo
	}()

	d := ringnet.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("pong"))
	buf := make([]byte, 4)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: pong
}

// Backend and BackendReason say which backend serves and, when it is not
// io_uring, why (a kernel without it, a seccomp profile, RINGNET_BACKEND).
func ExampleBackend() {
	if reason := ringnet.BackendReason(); reason != "" {
		log.Printf("ringnet: serving with %s: %s", ringnet.Backend(), reason)
	}
}

// Stats reports each event loop's counters. Package ringnet/stats serves
// them over HTTP where the program mounts its Handler (examples/http does
// at /debug/ringnet), and importing ringnet/stats/expvar publishes them
// with expvar.
func ExampleStats() {
	for _, s := range ringnet.Stats() {
		fmt.Printf("%s loop %d: %d connections, %d io_uring_enter calls, %d wakes written\n",
			s.Backend, s.Loop, s.Conns, s.Enters, s.WakesWritten)
	}
}

//go:build linux

package main

import (
	"net"
	"runtime"

	uringnet "github.com/godzie44/go-uring/net"
	"github.com/godzie44/go-uring/reactor"
	"github.com/godzie44/go-uring/uring"

	"github.com/ringnet/ringnet"
)

// listeners maps -impl to a constructor of that implementation's listener.
// RINGNET_BACKEND in the environment picks ringnet's backend, so the poll
// fallback needs no entry of its own here.
var listeners = map[string]func(addr string) (net.Listener, error){
	"stdlib":  func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) },
	"ringnet": func(addr string) (net.Listener, error) { return ringnet.Listen("tcp", addr) },
	"gouring": listenGoUring,
}

// listenGoUring builds github.com/godzie44/go-uring's listener the way its
// examples do: one ring per usable CPU sharing one worker pool, a network
// reactor over them, and the listener on top. The rings live as long as the
// process.
func listenGoUring(addr string) (net.Listener, error) {
	rings, _, err := uring.CreateMany(runtime.GOMAXPROCS(0), uring.MaxEntries>>2, 1)
	if err != nil {
		return nil, err
	}
	r, err := reactor.NewNet(rings)
	if err != nil {
		return nil, err
	}
	return uringnet.NewListener(net.ListenConfig{}, addr, r)
}

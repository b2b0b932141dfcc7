//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"net"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestAPIMirrorsNet checks that each public type has every exported method
// and field of the net type it stands in for, with the same types, so that
// a program swapping one for the other still compiles. The exceptions,
// each checked to be one still, are the methods whose types name net's
// concrete types and, on Unix connections, the calls listed below.
func TestAPIMirrorsNet(t *testing.T) {
	tests := []struct {
		name      string
		net, ours reflect.Type
		except    []string
	}{
		{"ListenConfig", reflect.TypeFor[*net.ListenConfig](), reflect.TypeFor[*ListenConfig](), nil},
		{"Dialer", reflect.TypeFor[*net.Dialer](), reflect.TypeFor[*Dialer](),
			[]string{"DialTCP", "DialUnix"}}, // only net makes a *net.TCPConn or *net.UnixConn
		{"Listener", reflect.TypeFor[*net.TCPListener](), reflect.TypeFor[*Listener](),
			[]string{"AcceptTCP"}}, // AcceptRing returns *Conn
		{"Conn", reflect.TypeFor[*net.TCPConn](), reflect.TypeFor[*Conn](), nil},
		{"Listener as a Unix listener", reflect.TypeFor[*net.UnixListener](), reflect.TypeFor[*Listener](),
			[]string{"AcceptUnix"}}, // AcceptRing returns *Conn
		// What a Unix connection lacks (docs/compat.md says so): the
		// datagram-style ReadFrom and WriteTo, whose names are
		// io.ReaderFrom's and io.WriterTo's here, and the message and
		// address-taking calls (no descriptor passing).
		{"Conn as a Unix connection", reflect.TypeFor[*net.UnixConn](), reflect.TypeFor[*Conn](),
			[]string{"ReadFrom", "WriteTo", "ReadFromUnix", "WriteToUnix", "ReadMsgUnix", "WriteMsgUnix"}},
		{"UDPConn", reflect.TypeFor[*net.UDPConn](), reflect.TypeFor[*UDPConn](), nil},
		{"UnixConn as a Unix datagram socket", reflect.TypeFor[*net.UnixConn](), reflect.TypeFor[*UnixConn](), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.net.NumMethod() {
				m := tt.net.Method(i)
				ours, ok := tt.ours.MethodByName(m.Name)
				if contains(tt.except, m.Name) {
					// An exception must still be one: docs/compat.md lists them.
					assert.False(t, ok && funcSig(m.Type) == funcSig(ours.Type),
						"%s is listed as missing but %v has it", m.Name, tt.ours)
					continue
				}
				if assert.True(t, ok, "%v has no method %s %v", tt.ours, m.Name, m.Type) {
					// Compare without the receiver.
					assert.Equal(t, funcSig(m.Type), funcSig(ours.Type), "method %s", m.Name)
				}
			}
			netStruct, ourStruct := tt.net.Elem(), tt.ours.Elem()
			for i := range netStruct.NumField() {
				f := netStruct.Field(i)
				if !f.IsExported() {
					continue
				}
				ours, ok := ourStruct.FieldByName(f.Name)
				if assert.True(t, ok, "%v has no field %s %v", ourStruct, f.Name, f.Type) {
					assert.Equal(t, f.Type, ours.Type, "field %s", f.Name)
				}
			}
		})
	}
}

// The package's functions have the signatures of net's.
var (
	_ func(string, string) (net.Listener, error)              = Listen
	_ func(string, string) (net.Conn, error)                  = Dial
	_ func(string, string, time.Duration) (net.Conn, error)   = DialTimeout
	_ func(*os.File) (net.Listener, error)                    = FileListener
	_ func(*os.File) (net.Conn, error)                        = FileConn
	_ func(context.Context, string, string) (net.Conn, error) = DialContext // a zero Dialer's

	_ func(string, string) (net.PacketConn, error) = ListenPacket
	// ListenUDP, DialUDP and ListenUnixgram take net's arguments and
	// return ringnet's types, as the net functions return net's.
	_ func(string, *net.UDPAddr) (*UDPConn, error)               = ListenUDP
	_ func(string, *net.UDPAddr, *net.UDPAddr) (*UDPConn, error) = DialUDP
	_ func(string, *net.UnixAddr) (*UnixConn, error)             = ListenUnixgram
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// funcSig describes a method's type without its receiver.
func funcSig(ft reflect.Type) string {
	s := "("
	for i := 1; i < ft.NumIn(); i++ {
		s += ft.In(i).String() + ","
	}
	s += ") ("
	for i := range ft.NumOut() {
		s += ft.Out(i).String() + ","
	}
	return s + ")"
}

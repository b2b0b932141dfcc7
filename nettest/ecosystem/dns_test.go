package ecosystem_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/ringnet/ringnet"
)

// dnsZone is the zone the test server answers for.
const dnsZone = "ecosystem.test."

// dnsAnswerAddr is the address the server gives name: three bytes of its
// SHA-256 under 10/8, so that an answer meant for another question shows.
func dnsAnswerAddr(name string) net.IP {
	s := sha256.Sum256([]byte(name))
	return net.IPv4(10, s[0], s[1], s[2]).To4()
}

// dnsTXT is TXT record i of a big answer: 200 bytes that name i.
func dnsTXT(i int) string {
	return fmt.Sprintf("%04d", i) + strings.Repeat(string(rune('a'+i%26)), 196)
}

// dnsMaxTXT is the most TXT records the server puts in an answer: 250 of
// them make a message of about 53 KB, under the 64 KiB that TCP carries.
const dnsMaxTXT = 250

// dnsHandler is a miekg/dns handler that answers
//
//	A   <anything>.ecosystem.test.   one A record, dnsAnswerAddr(name)
//	TXT big-<k>.ecosystem.test.      k records dnsTXT(0), ..., dnsTXT(k-1)
//
// and NXDOMAIN for the rest. Over UDP it cuts the answer to the client's
// size (512 bytes, or its EDNS0 size) and sets TC, as a server must; over
// TCP it sends it whole.
type dnsHandler struct {
	udp, tcp atomic.Int64
	err      atomic.Pointer[error] // the first write that failed
}

func (h *dnsHandler) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0] // the server refuses a query without exactly one question
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
	var k int
	switch {
	case q.Qtype == dns.TypeA && dns.IsSubDomain(dnsZone, q.Name):
		hdr.Rrtype = dns.TypeA
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: dnsAnswerAddr(q.Name)})
	case q.Qtype == dns.TypeTXT && parseBig(q.Name, &k):
		hdr.Rrtype = dns.TypeTXT
		for i := range k {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{dnsTXT(i)}})
		}
	default:
		m.SetRcode(r, dns.RcodeNameError)
	}
	if w.LocalAddr().Network() == "udp" {
		h.udp.Add(1)
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = max(size, int(opt.UDPSize()))
			m.SetEdns0(uint16(size), false)
		}
		m.Truncate(size)
	} else {
		h.tcp.Add(1)
	}
	if err := w.WriteMsg(m); err != nil {
		err = fmt.Errorf("answering %s to %v: %w", q.Name, w.RemoteAddr(), err)
		h.err.CompareAndSwap(nil, &err)
	}
}

// parseBig reads k from big-<k>.ecosystem.test.
func parseBig(name string, k *int) bool {
	_, err := fmt.Sscanf(name, "big-%d."+dnsZone, k)
	return err == nil && *k >= 0 && *k <= dnsMaxTXT
}

// check fails t if a write of the server failed.
func (h *dnsHandler) check(t *testing.T) {
	t.Helper()
	if err := h.err.Load(); err != nil {
		t.Errorf("server: %v", *err)
	}
}

// serveDNS starts srv (PacketConn or Listener set) and shuts it down when
// the test ends; shutting down closes its socket.
func serveDNS(t *testing.T, srv *dns.Server) {
	t.Helper()
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	served := make(chan error, 1)
	go func() { served <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-served:
		require.NoError(t, err, "ActivateAndServe")
		require.Fail(t, "ActivateAndServe returned before starting")
	case <-time.After(10 * time.Second):
		require.Fail(t, "the DNS server did not start within 10s")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.ShutdownContext(ctx), "ShutdownContext")
		select {
		case err := <-served:
			assert.NoError(t, err, "ActivateAndServe")
		case <-time.After(5 * time.Second):
			t.Errorf("ActivateAndServe did not return within 5s of ShutdownContext")
		}
	})
}

// listenDNS opens backend b's UDP socket on host, and its TCP listener on
// the same port when tcp is set (trying other ports if that one is taken
// for TCP).
func listenDNS(t *testing.T, b backend, host string, tcp bool) (net.PacketConn, net.Listener) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := b.listenPacket("udp", net.JoinHostPort(host, "0"))
		require.NoError(t, err)
		requireUDPConnOf(t, b, pc)
		if !tcp {
			return pc, nil
		}
		ln, err := b.listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		require.Less(t, attempt, 10, "no port free for both UDP and TCP: %v", err)
	}
}

// dnsClient is one way for a client to reach the server.
type dnsClient struct {
	name string
	// dial returns a connection to address on network ("udp" or "tcp").
	dial func(ctx context.Context, b backend, network, address string) (*dns.Conn, error)
	// onBackend says whether dial's connection is the backend's (else the
	// standard library's).
	onBackend bool
}

// dialUDP dials the server's UDP address with c and checks whose socket
// it got.
func (c dnsClient) dialUDP(t *testing.T, ctx context.Context, b backend, address string) *dns.Conn {
	t.Helper()
	co, err := c.dial(ctx, b, "udp", address)
	require.NoError(t, err)
	t.Cleanup(func() { co.Close() })
	if !c.onBackend {
		b = backends[0]
	}
	requireUDPConnOf(t, b, co.Conn)
	return co
}

// dnsClients are miekg/dns's own client over the standard library and
// miekg/dns's Conn on a connection of the backend (for ringnet, a
// *ringnet.UDPConn from Dialer.Dial("udp")).
var dnsClients = []dnsClient{
	{name: "miekg-client", dial: func(ctx context.Context, _ backend, network, address string) (*dns.Conn, error) {
		c := &dns.Client{Net: network, Timeout: 5 * time.Second}
		return c.DialContext(ctx, address)
	}},
	{name: "backend-conn", dial: func(ctx context.Context, b backend, network, address string) (*dns.Conn, error) {
		c, err := b.dial(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &dns.Conn{Conn: c}, nil
	}, onBackend: true},
}

// dnsExchange sends m over co and returns the answer.
func dnsExchange(ctx context.Context, co *dns.Conn, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.ExchangeWithConnContext(ctx, m, co)
	return r, err
}

// checkA checks an answer to the A question for name.
func checkA(r *dns.Msg, q *dns.Msg, name string) error {
	switch {
	case r.Id != q.Id:
		return fmt.Errorf("%s: answer id %d, query id %d", name, r.Id, q.Id)
	case r.Rcode != dns.RcodeSuccess || r.Truncated || !r.Response:
		return fmt.Errorf("%s: rcode %s, truncated %v, response %v", name, dns.RcodeToString[r.Rcode], r.Truncated, r.Response)
	case len(r.Question) != 1 || r.Question[0].Name != name || r.Question[0].Qtype != dns.TypeA:
		return fmt.Errorf("%s: answer's question %v", name, r.Question)
	case len(r.Answer) != 1:
		return fmt.Errorf("%s: %d answers, want 1", name, len(r.Answer))
	}
	a, ok := r.Answer[0].(*dns.A)
	if !ok || a.Hdr.Name != name || !a.A.Equal(dnsAnswerAddr(name)) {
		return fmt.Errorf("%s: answer %v, want A %v", name, r.Answer[0], dnsAnswerAddr(name))
	}
	return nil
}

// checkTXT checks the answer to big-<k>: its TXT records in order, all k
// of them, or fewer with TC set when truncated.
func checkTXT(t *testing.T, r *dns.Msg, k int, truncated bool) {
	t.Helper()
	require.Equal(t, dns.RcodeSuccess, r.Rcode)
	require.Equal(t, truncated, r.Truncated, "TC bit")
	if truncated {
		require.Less(t, len(r.Answer), k, "a truncated answer with every record")
	} else {
		require.Len(t, r.Answer, k)
	}
	for i, rr := range r.Answer {
		txt, ok := rr.(*dns.TXT)
		require.True(t, ok, "record %d is %T", i, rr)
		require.Equal(t, []string{dnsTXT(i)}, txt.Txt, "record %d", i)
	}
}

// TestDNS serves github.com/miekg/dns on the backend's UDP socket
// (dns.Server{PacketConn: pc}) and TCP listener: 8 clients send 1,000
// queries each (half through miekg/dns's own client over the standard
// library, half through miekg/dns's Conn on a UDP socket dialed with the
// backend), every answer checked; an answer too big for 512 bytes comes
// truncated (TC) over UDP and whole over TCP, and whole over UDP when
// EDNS0 asks for 4,096 bytes. On the standard library miekg/dns reads and
// writes a *net.UDPConn with its session (ReadMsgUDP/WriteMsgUDP and
// control data); any other PacketConn, ringnet's included, with ReadFrom
// and WriteTo (TestDNSWildcard covers the session on ringnet).
func TestDNS(t *testing.T) {
	const clients = 8
	const queriesEach = 1000
	forEachBackend(t, 120*time.Second, func(t *testing.T, b backend) {
		pc, ln := listenDNS(t, b, "127.0.0.1", true)
		addr := pc.LocalAddr().String()
		h := &dnsHandler{}
		serveDNS(t, &dns.Server{PacketConn: pc, Handler: h})
		serveDNS(t, &dns.Server{Listener: ln, Handler: h})
		t.Cleanup(func() { h.check(t) })
		ctx := testContext(t, 90*time.Second)

		t.Run("queries", func(t *testing.T) {
			before := h.udp.Load()
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for c := range clients {
				kind := dnsClients[c%len(dnsClients)]
				wg.Go(func() {
					co, err := kind.dial(ctx, b, "udp", addr)
					if err != nil {
						errs <- fmt.Errorf("client %d (%s): dial: %w", c, kind.name, err)
						return
					}
					defer co.Close()
					for i := range queriesEach {
						name := fmt.Sprintf("n%d-%d.%s", c, i, dnsZone)
						q := new(dns.Msg).SetQuestion(name, dns.TypeA)
						r, err := dnsExchange(ctx, co, q)
						if err == nil {
							err = checkA(r, q, name)
						}
						if err != nil {
							errs <- fmt.Errorf("client %d (%s), query %d: %w", c, kind.name, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
			assert.Equal(t, int64(clients*queriesEach), h.udp.Load()-before, "queries the server answered over UDP")
		})

		t.Run("truncated-then-tcp", func(t *testing.T) {
			for _, kind := range dnsClients {
				t.Run(kind.name, func(t *testing.T) {
					const k = 40 // about 8.5 KB
					name := fmt.Sprintf("big-%d.%s", k, dnsZone)
					co := kind.dialUDP(t, ctx, b, addr)
					r, err := dnsExchange(ctx, co, new(dns.Msg).SetQuestion(name, dns.TypeTXT))
					require.NoError(t, err)
					checkTXT(t, r, k, true)

					// What a resolver does with TC: the same question over TCP.
					tc, err := kind.dial(ctx, b, "tcp", addr)
					require.NoError(t, err)
					defer tc.Close()
					for _, k := range []int{k, dnsMaxTXT} {
						name := fmt.Sprintf("big-%d.%s", k, dnsZone)
						r, err := dnsExchange(ctx, tc, new(dns.Msg).SetQuestion(name, dns.TypeTXT))
						require.NoError(t, err)
						checkTXT(t, r, k, false)
					}
				})
			}
		})

		t.Run("edns0", func(t *testing.T) {
			for _, kind := range dnsClients {
				t.Run(kind.name, func(t *testing.T) {
					const k = 18 // about 3.9 KB: one datagram, larger than an Ethernet frame
					name := fmt.Sprintf("big-%d.%s", k, dnsZone)
					co := kind.dialUDP(t, ctx, b, addr)
					q := new(dns.Msg).SetQuestion(name, dns.TypeTXT).SetEdns0(4096, false)
					r, err := dnsExchange(ctx, co, q)
					require.NoError(t, err)
					checkTXT(t, r, k, false)
					require.NotNil(t, r.IsEdns0(), "answer without EDNS0")
				})
			}
		})
	})
}

// dnsSession is what miekg/dns keeps of a query read from a *net.UDPConn
// (its SessionUDP): the sender and the control data the query came with,
// here for a *ringnet.UDPConn. It is the net.Addr that the server hands
// back to the writer.
type dnsSession struct {
	*net.UDPAddr
	oob []byte
}

// dnsSessionOOBSize is miekg/dns's room for a query's control data: an
// IPv4 or IPv6 packet-info message.
var dnsSessionOOBSize = max(len(ipv4.NewControlMessage(ipv4.FlagDst|ipv4.FlagInterface)),
	len(ipv6.NewControlMessage(ipv6.FlagDst|ipv6.FlagInterface)))

// withSession makes srv read and answer queries on uc the way miekg/dns
// does on a *net.UDPConn, through its DecorateReader and DecorateWriter:
// it asks for each query's destination address (IP_PKTINFO and
// IPV6_PKTINFO, as its setUDPSocketOptions does), reads with ReadMsgUDP
// and answers with WriteMsgUDP from that address (its correctSource).
// miekg/dns serves any other PacketConn with ReadFrom and WriteTo, so that
// on a socket bound to a wildcard address an answer leaves from the
// address the kernel's routing picks.
func withSession(t *testing.T, srv *dns.Server, uc *ringnet.UDPConn) {
	err6 := ipv6.NewPacketConn(uc).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
	err4 := ipv4.NewPacketConn(uc).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
	require.False(t, err4 != nil && err6 != nil, "packet info for neither family: %v, %v", err4, err6)
	size := srv.UDPSize
	if size == 0 {
		size = dns.MinMsgSize
	}
	srv.DecorateReader = func(r dns.Reader) dns.Reader { return sessionReader{r, uc, size} }
	srv.DecorateWriter = func(w dns.Writer) dns.Writer {
		return writerFunc(func(b []byte) (int, error) {
			s := w.(dns.ResponseWriter).RemoteAddr().(*dnsSession)
			n, _, err := uc.WriteMsgUDP(b, replySource(s.oob), s.UDPAddr)
			return n, err
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// sessionReader reads queries with their control data (see withSession).
type sessionReader struct {
	dns.Reader
	uc   *ringnet.UDPConn
	size int
}

// ReadPacketConn reads one query. It sets no deadline: the server's
// shutdown sets one in the past to end the read, and miekg/dns sets its
// own only while the server runs, which this reader cannot see.
func (r sessionReader) ReadPacketConn(net.PacketConn, time.Duration) ([]byte, net.Addr, error) {
	m := make([]byte, r.size)
	oob := make([]byte, dnsSessionOOBSize)
	n, oobn, _, from, err := r.uc.ReadMsgUDP(m, oob)
	if err != nil {
		return nil, nil, err
	}
	return m[:n], &dnsSession{from, oob[:oobn]}, nil
}

// replySource is miekg/dns's correctSource: control data that sends the
// answer from the address the query came to.
func replySource(oob []byte) []byte {
	var cm6 ipv6.ControlMessage
	if cm6.Parse(oob) == nil && cm6.Dst != nil {
		if cm6.Dst.To4() != nil {
			return (&ipv4.ControlMessage{Src: cm6.Dst}).Marshal()
		}
		return (&ipv6.ControlMessage{Src: cm6.Dst}).Marshal()
	}
	var cm4 ipv4.ControlMessage
	if cm4.Parse(oob) == nil && cm4.Dst != nil {
		return (&ipv4.ControlMessage{Src: cm4.Dst}).Marshal()
	}
	return nil
}

// askFrom sends an A question to addr from an unconnected socket of the
// standard library and returns the answer's source address, having
// checked the answer.
func askFrom(t *testing.T, network string, addr *net.UDPAddr) net.IP {
	t.Helper()
	c, err := net.ListenUDP(network, nil)
	require.NoError(t, err)
	defer c.Close()
	name := "unconnected." + dnsZone
	q := new(dns.Msg).SetQuestion(name, dns.TypeA)
	b, err := q.Pack()
	require.NoError(t, err)
	_, err = c.WriteToUDP(b, addr)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, dns.MinMsgSize)
	n, from, err := c.ReadFromUDP(buf)
	require.NoError(t, err)
	r := new(dns.Msg)
	require.NoError(t, r.Unpack(buf[:n]))
	require.NoError(t, checkA(r, q, name))
	return from.IP
}

// TestDNSWildcard serves miekg/dns on a UDP socket bound to a wildcard
// address (0.0.0.0, and [::] taking IPv4 too), where an answer must leave
// from the address its query came to: a client's connected socket takes
// nothing else. Queries go to 127.0.0.1, 127.0.0.2 (and ::1) from
// miekg/dns's client over the standard library and from the backend's
// dialed socket. On the standard library miekg/dns does this with its
// session (ReadMsgUDP and WriteMsgUDP with packet info); on ringnet the
// same through the server's DecorateReader and DecorateWriter
// (withSession). Without it, as miekg/dns serves a PacketConn that is
// not a *net.UDPConn, the answer to 127.0.0.2 leaves from 127.0.0.1.
//
// The sockets listen on every interface for the test's second; every
// datagram goes over loopback.
func TestDNSWildcard(t *testing.T) {
	const queriesEach = 20
	kinds := []struct {
		name, network, host string
		to                  []string
	}{
		{"udp4", "udp4", "0.0.0.0", []string{"127.0.0.1", "127.0.0.2"}},
		{"dual-stack", "udp", "::", []string{"127.0.0.1", "127.0.0.2", "::1"}},
	}
	forEachBackend(t, 60*time.Second, func(t *testing.T, b backend) {
		ctx := testContext(t, 45*time.Second)
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				pc, err := b.listenPacket(k.network, net.JoinHostPort(k.host, "0"))
				require.NoError(t, err)
				requireUDPConnOf(t, b, pc)
				port := pc.LocalAddr().(*net.UDPAddr).Port
				h := &dnsHandler{}
				srv := &dns.Server{PacketConn: pc, Handler: h}
				if b.ringnet {
					withSession(t, srv, pc.(*ringnet.UDPConn))
				}
				serveDNS(t, srv)
				t.Cleanup(func() { h.check(t) })
				for _, ip := range k.to {
					addr := net.JoinHostPort(ip, fmt.Sprint(port))
					for _, kind := range dnsClients {
						co := kind.dialUDP(t, ctx, b, addr)
						for i := range queriesEach {
							name := fmt.Sprintf("%s-%d.%s", strings.ReplaceAll(ip, ":", "-"), i, dnsZone)
							q := new(dns.Msg).SetQuestion(name, dns.TypeA)
							r, err := dnsExchange(ctx, co, q)
							if err == nil {
								err = checkA(r, q, name)
							}
							require.NoError(t, err, "%s to %s, query %d", kind.name, addr, i)
						}
					}
					to := &net.UDPAddr{IP: net.ParseIP(ip), Port: port}
					assert.True(t, askFrom(t, "udp", to).Equal(to.IP), "answer to %v from another address", to)
				}
			})
		}

		if b.ringnet {
			t.Run("without-session", func(t *testing.T) {
				pc, err := b.listenPacket("udp4", "0.0.0.0:0")
				require.NoError(t, err)
				h := &dnsHandler{}
				serveDNS(t, &dns.Server{PacketConn: pc, Handler: h})
				t.Cleanup(func() { h.check(t) })
				to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: pc.LocalAddr().(*net.UDPAddr).Port}
				from := askFrom(t, "udp4", to)
				assert.True(t, from.Equal(net.IPv4(127, 0, 0, 1)), "answer to %v from %v: miekg/dns's ReadFrom/WriteTo path now keeps the address", to, from)
			})
		}
	})
}

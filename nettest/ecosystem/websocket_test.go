package ecosystem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsServer serves WebSocket connections:
//
//	/echo   every message back, until the client closes
//	/ping   pings the client 5 times, then closes with StatusNormalClosure
type wsServer struct {
	pings atomic.Int64 // pings received from clients
	// closes gets the close status each /echo handler saw at its end.
	closes chan websocket.StatusCode
	// pinged gets the result of each /ping handler's pings.
	pinged chan error

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*websocket.Conn]bool
}

const wsReadLimit = 8 << 20

func newWSServer() *wsServer {
	return &wsServer{
		closes: make(chan websocket.StatusCode, 4096),
		pinged: make(chan error, 16),
		conns:  map[*websocket.Conn]bool{},
	}
}

func (s *wsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			s.pings.Add(1)
			return true
		},
	})
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.CloseNow()
	}()
	c.SetReadLimit(wsReadLimit)
	// The request's context ends with the handler; bound it further.
	ctx, cancel := context.WithTimeout(r.Context(), 50*time.Second)
	defer cancel()

	switch r.URL.Path {
	case "/echo":
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				s.closes <- websocket.CloseStatus(err)
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				s.closes <- websocket.CloseStatus(err)
				return
			}
		}
	case "/ping":
		ctx := c.CloseRead(ctx) // reads the pongs
		var err error
		for i := 0; i < 5 && err == nil; i++ {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = c.Ping(pctx)
			cancel()
		}
		s.pinged <- err
		_ = c.Close(websocket.StatusNormalClosure, "pinged")
	}
}

// close ends every connection still open and waits for the handlers.
func (s *wsServer) close(t *testing.T) {
	s.mu.Lock()
	for c := range s.conns {
		c.CloseNow()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("WebSocket handlers still running 10s after their connections were closed")
	}
}

// wsDialer dials WebSocket connections with backend b.
func wsDialer(t *testing.T, b backend) func(ctx context.Context, url string) (*websocket.Conn, error) {
	client := &http.Client{Transport: newTransport(t, b)}
	return func(ctx context.Context, url string) (*websocket.Conn, error) {
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			if resp != nil {
				err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
			}
			return nil, err
		}
		c.SetReadLimit(wsReadLimit)
		return c, nil
	}
}

func TestWebSocket(t *testing.T) {
	forEachBackend(t, 90*time.Second, func(t *testing.T, b backend) {
		ws := newWSServer()
		addr := serveHTTP(t, b, &http.Server{Handler: ws, ReadHeaderTimeout: 20 * time.Second})
		t.Cleanup(func() { ws.close(t) })
		dial := wsDialer(t, b)
		url := "ws://" + addr

		t.Run("1000-concurrent-clients", func(t *testing.T) {
			const clients, msgs = 1000, 3
			ctx := testContext(t, 50*time.Second)
			start := time.Now()
			// All clients connect before any sends: a barrier.
			var arrived sync.WaitGroup
			arrived.Add(clients)
			var failed atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i := range clients {
				wg.Go(func() {
					c, err := dial(ctx, url+"/echo")
					arrived.Done()
					if err != nil {
						failed.Add(1)
						errs <- fmt.Errorf("client %d: dial: %w", i, err)
						return
					}
					defer c.CloseNow()
					arrived.Wait()
					for j := range msgs {
						want := fmt.Sprintf("client %d message %d %s", i, j, strings.Repeat("x", (i*j)%200))
						if err := c.Write(ctx, websocket.MessageText, []byte(want)); err != nil {
							errs <- fmt.Errorf("client %d: write %d: %w", i, j, err)
							return
						}
						typ, got, err := c.Read(ctx)
						if err != nil {
							errs <- fmt.Errorf("client %d: read %d: %w", i, j, err)
							return
						}
						if typ != websocket.MessageText || string(got) != want {
							errs <- fmt.Errorf("client %d: echo %d: %v %q, want %q", i, j, typ, got, want)
							return
						}
					}
					if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
						errs <- fmt.Errorf("client %d: close: %w", i, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				if n++; n <= 10 {
					t.Error(err)
				}
			}
			require.Zero(t, n, "%d of %d clients failed", n, clients)
			t.Logf("%d clients x %d messages in %v", clients, msgs, time.Since(start).Round(time.Millisecond))

			normal := 0
			for range clients {
				if waitFor(t, ws.closes, 10*time.Second, "the server's handlers to end") == websocket.StatusNormalClosure {
					normal++
				}
			}
			assert.Equal(t, clients, normal, "handlers that saw StatusNormalClosure")
		})

		t.Run("4MiB-messages", func(t *testing.T) {
			ctx := testContext(t, 30*time.Second)
			c, err := dial(ctx, url+"/echo")
			require.NoError(t, err)
			defer c.CloseNow()
			text := []byte(strings.Repeat("ringnet ", (4<<20)/8))
			for i, m := range []struct {
				typ websocket.MessageType
				msg []byte
			}{
				{websocket.MessageBinary, payload(1, 4<<20)},
				{websocket.MessageText, text},
				{websocket.MessageBinary, payload(2, 4<<20+1)},
			} {
				require.NoError(t, c.Write(ctx, m.typ, m.msg), "write %d", i)
				typ, got, err := c.Read(ctx)
				require.NoError(t, err, "read %d", i)
				assert.Equal(t, m.typ, typ, "message %d", i)
				assert.True(t, bytes.Equal(m.msg, got), "message %d: %d bytes (sha256 %s), want %d (sha256 %s)",
					i, len(got), sum(got), len(m.msg), sum(m.msg))
			}
			require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
			assert.Equal(t, websocket.StatusNormalClosure, waitFor(t, ws.closes, 5*time.Second, "the server's close status"))
		})

		t.Run("client-pings", func(t *testing.T) {
			ctx := testContext(t, 30*time.Second)
			c, err := dial(ctx, url+"/echo")
			require.NoError(t, err)
			defer c.CloseNow()
			before := ws.pings.Load()
			rctx := c.CloseRead(ctx) // reads the pongs
			for i := range 10 {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				require.NoError(t, c.Ping(pctx), "ping %d", i)
				cancel()
			}
			assert.EqualValues(t, 10, ws.pings.Load()-before, "pings the server received")
			require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"))
			waitFor(t, rctx.Done(), 5*time.Second, "the client's reader to end")
			assert.Equal(t, websocket.StatusNormalClosure, waitFor(t, ws.closes, 5*time.Second, "the server's close status"))
		})

		t.Run("server-pings-and-closes", func(t *testing.T) {
			ctx := testContext(t, 30*time.Second)
			c, err := dial(ctx, url+"/ping")
			require.NoError(t, err)
			defer c.CloseNow()
			// Reading answers the server's pings, then gets its close.
			_, _, err = c.Read(ctx)
			assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err), "%v", err)
			assert.NoError(t, waitFor(t, ws.pinged, 5*time.Second, "the server's pings"))
		})

		t.Run("close-handshake", func(t *testing.T) {
			ctx := testContext(t, 30*time.Second)
			c, err := dial(ctx, url+"/echo")
			require.NoError(t, err)
			defer c.CloseNow()
			require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("last words")))
			_, got, err := c.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, "last words", string(got))
			// Close returns nil only when the server answers with its own
			// close frame carrying the same status.
			require.NoError(t, c.Close(websocket.StatusNormalClosure, "done"))
			assert.Equal(t, websocket.StatusNormalClosure, waitFor(t, ws.closes, 5*time.Second, "the server's close status"))
			_, _, err = c.Read(ctx)
			assert.True(t, errors.Is(err, net.ErrClosed) || websocket.CloseStatus(err) == websocket.StatusNormalClosure, "read after close: %v", err)
		})
	})
}

package service

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client that declares a body and never sends it, or sends headers without
// end, is cut off by the server's limits instead of holding a connection.
func TestLimitsCutOffStalledClients(t *testing.T) {
	lim := DefaultLimits()
	lim.HeaderTimeout, lim.ReadTimeout = 200*time.Millisecond, 300*time.Millisecond
	srv, err := ListenWith("test", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body not received", http.StatusBadRequest)
		}
	}), slog.New(slog.DiscardHandler), lim)
	require.NoError(t, err)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL(), "http://")

	for name, request := range map[string]string{
		"body never sent":     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
		"headers never ended": "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = fmt.Fprint(conn, request)
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			began := time.Now()
			_, err = io.Copy(io.Discard, conn)
			require.NoError(t, err, "the server closes the connection")
			assert.Less(t, time.Since(began), 5*time.Second)
		})
	}

	// Go lets 4 KiB more than the limit through before it refuses.
	long := "GET /" + strings.Repeat("a", DefaultLimits().MaxHeaderBytes+8192) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprint(conn, long)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits bound what one client may hold of a server.
type Limits struct {
	// A client must send its headers within HeaderTimeout and its body
	// within ReadTimeout (routes that take large bodies extend their own
	// deadline), so a declared body that never arrives cannot hold a
	// connection.
	HeaderTimeout time.Duration
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	// IdleTimeout closes keep-alive connections nobody uses.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers.
	MaxHeaderBytes int
}

// DefaultLimits suit every dure HTTP server.
func DefaultLimits() Limits {
	return Limits{HeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// Server is one HTTP listener of a service.
type Server struct {
	srv *http.Server
	url string
}

// Listen serves h on addr (port 0 picks a free one) until Close.
func Listen(name, addr string, h http.Handler, logger *slog.Logger) (*Server, error) {
	return ListenWith(name, addr, h, logger, DefaultLimits())
}

// ListenWith is Listen with other limits.
func ListenWith(name, addr string, h http.Handler, logger *slog.Logger, lim Limits) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	s := &Server{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.HeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
	}, url: "http://" + l.Addr().String()}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server stopped", "server", name, "err", err)
		}
	}()
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.url }

// Close lets requests in flight finish, for up to five seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Ops is a service's operations endpoint: /metrics, /healthz and whatever
// else the role adds (the control plane adds /codec/).
type Ops struct {
	Metrics *prometheus.Registry
	// Ready, when set, makes /healthz answer 503 with its error.
	Ready func(context.Context) error
	// Extra maps path patterns to handlers.
	Extra map[string]http.Handler
}

// Handler routes the endpoint.
func (o Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{Registry: o.Metrics}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := o.Ready(ctx); err != nil {
				http.Error(w, "unavailable: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	for pattern, h := range o.Extra {
		mux.Handle(pattern, h)
	}
	return mux
}

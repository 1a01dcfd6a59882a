package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeJSON decodes exactly one JSON value of at most limit bytes from the
// request body into dst. On failure it returns the HTTP status to answer
// with and a message that never quotes the body, which may hold complaint
// text.
func decodeJSON(w http.ResponseWriter, req *http.Request, limit int64, dst any) (int, string) {
	// A declared length over the limit is refused without reading anything.
	if req.ContentLength > limit {
		return http.StatusRequestEntityTooLarge, "request body too large"
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, "request body too large"
	}
	if err != nil {
		return http.StatusBadRequest, "invalid JSON body"
	}
	// Decoding would replace invalid UTF-8 silently: the model would see
	// text the client never sent.
	if !utf8.Valid(raw) {
		return http.StatusBadRequest, "body is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return http.StatusBadRequest, "invalid JSON body"
	}
	// Trailing data means the body is not one JSON value.
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return http.StatusBadRequest, "invalid JSON body"
	}
	return 0, ""
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable with values JSON cannot represent, such as a NaN
		// score from a broken classifier.
		code = http.StatusInternalServerError
		b = []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// instrument records the request count by status code and the latency of
// one route.
func (r *Replica) instrument(route string, h http.HandlerFunc) http.Handler {
	latency := r.metrics.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, req)
		latency.Observe(time.Since(start).Seconds())
		r.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

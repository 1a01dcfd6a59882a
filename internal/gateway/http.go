package gateway

import (
	"encoding/json"
	"net/http"
)

type errorBody struct {
	Error string `json:"error"`
}

// writeError writes a JSON error answer and returns its status code.
func writeError(w http.ResponseWriter, code int, msg string) int {
	return writeJSON(w, code, errorBody{Error: msg})
}

// writeJSON writes v as a JSON answer and returns the status code written.
func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return writeRaw(w, http.StatusInternalServerError, []byte(`{"error":"internal error"}`))
	}
	return writeRaw(w, code, b)
}

// writeRaw writes an already encoded JSON answer and returns code.
func writeRaw(w http.ResponseWriter, code int, body []byte) int {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	return code
}

package textclf

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Example is one labelled complaint.
type Example struct {
	Title string
	Body  string
	Label string
}

// jsonlRecord is the on-disk shape of a complaint; extra fields (id,
// received_at, …) are ignored.
type jsonlRecord struct {
	Title      *string `json:"title"`
	Body       *string `json:"body"`
	Department *string `json:"department"`
}

// maxLineBytes bounds one JSONL line. Bodies reach ~25,000 characters (≈75 KB
// of UTF-8), so 16 MiB leaves ample room while still rejecting runaway input.
const maxLineBytes = 16 << 20

// ReadJSONL reads complaints, one JSON object per line, with the fields
// title, body and department. Blank lines are skipped. A malformed line, or
// one without a department, is an error that names its 1-based line number.
func ReadJSONL(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var out []Example
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		ex, err := parseLine(text)
		if err != nil {
			return nil, fmt.Errorf("textclf: line %d: %w", line, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("textclf: reading JSONL: %w", err)
	}
	return out, nil
}

func parseLine(text string) (Example, error) {
	var rec jsonlRecord
	if err := json.Unmarshal([]byte(text), &rec); err != nil {
		return Example{}, err
	}
	if rec.Department == nil || strings.TrimSpace(*rec.Department) == "" {
		return Example{}, errors.New("missing department")
	}
	if rec.Title == nil && rec.Body == nil {
		return Example{}, errors.New("missing both title and body")
	}
	return Example{
		Title: deref(rec.Title),
		Body:  deref(rec.Body),
		Label: strings.TrimSpace(*rec.Department),
	}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

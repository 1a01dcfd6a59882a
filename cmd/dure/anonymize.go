package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dure-platform/dure/internal/pii"
)

type anonymizeInput struct {
	Text *string `json:"text"`
}

type anonymizeOutput struct {
	Masked string     `json:"masked"`
	Spans  []pii.Span `json:"spans"`
}

// runAnonymize masks one JSON line at a time; a bad line is reported on stderr
// with its number and answered with an error object, so output lines stay aligned
// with input lines.
func runAnonymize(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return usageError{errors.New("anonymize takes no arguments; it reads JSON lines on stdin")}
	}
	return anonymize(os.Stdin, stdout, stderr)
}

func anonymize(in io.Reader, stdout, stderr io.Writer) error {
	det := pii.NewDetector()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	bad := 0
	for line := 1; sc.Scan(); line++ {
		var req anonymizeInput
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil || req.Text == nil {
			bad++
			fmt.Fprintf(stderr, "line %d: want a JSON object with a \"text\" string\n", line)
			if err := enc.Encode(map[string]string{"error": "want a JSON object with a \"text\" string"}); err != nil {
				return err
			}
			continue
		}
		masked, spans := det.MaskText(*req.Text, pii.TagPolicy{})
		if spans == nil {
			spans = []pii.Span{}
		}
		if err := enc.Encode(anonymizeOutput{Masked: masked, Spans: spans}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if bad > 0 {
		return usageError{fmt.Errorf("%d input lines were not valid", bad)}
	}
	return nil
}

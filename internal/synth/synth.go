// Package synth finds the shipped sample complaints and generates uploads
// of any size from their words, for tests and benchmarks that need more
// records than the samples hold.
package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// SampleFiles returns the sample complaint files (data/complaints/*.jsonl
// at the module's root), failing tb when the checkout lacks them.
func SampleFiles(tb testing.TB) []string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "data", "complaints", "*.jsonl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("sample complaints not found in data/complaints (err %v): the checkout is incomplete", err)
	}
	return files
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Record is a sample complaint, in the upload's JSON form.
type Record struct {
	ID         string `json:"id"`
	ReceivedAt string `json:"received_at"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Department string `json:"department"`
}

// SampleRecords returns every sample complaint, file by file in name order.
func SampleRecords(tb testing.TB) []Record {
	tb.Helper()
	var recs []Record
	for _, name := range SampleFiles(tb) {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for l := range bytes.Lines(data) {
			var r Record
			if err := json.Unmarshal(l, &r); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

// Shape says how large an Upload is and what its records look like.
type Shape struct {
	// Bytes and Records bound the upload; it ends at the first reached
	// (zero: unbounded). A byte bound may cut the last record short.
	Bytes   int64
	Records int
	// Departments are given to the records in turn.
	Departments []string
	// BodyWords, when positive, fixes every body's length in words (short
	// records); zero follows the samples.
	BodyWords int
}

// Upload produces JSON lines on the fly, never holding more than one
// record. Each record's title and body are random words of the sample
// complaints, so records are unique yet look like real uploads to every
// check.
type Upload struct {
	// Records counts the records begun so far.
	Records int
	// Done counts the bytes read so far.
	Done int64

	shape     Shape
	words     []string
	lengths   [][2]int // title and body word counts
	rng       *rand.Rand
	buf, left []byte
}

// NewUpload returns an Upload of the given shape.
func NewUpload(tb testing.TB, shape Shape) *Upload {
	tb.Helper()
	if len(shape.Departments) == 0 {
		tb.Fatal("synth: an upload needs departments")
	}
	u := &Upload{shape: shape, rng: rand.New(rand.NewPCG(1, 2))}
	seen := map[string]bool{}
	for _, r := range SampleRecords(tb) {
		tw, bw := strings.Fields(r.Title), strings.Fields(r.Body)
		n := max(2, len(bw))
		if shape.BodyWords > 0 {
			n = shape.BodyWords
		}
		u.lengths = append(u.lengths, [2]int{max(1, len(tw)), n})
		for _, w := range append(tw, bw...) {
			if !seen[w] && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
				seen[w] = true
				u.words = append(u.words, w)
			}
		}
	}
	return u
}

func (u *Upload) appendWords(b []byte, n int) []byte {
	var s strings.Builder
	for i := range n {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(u.words[u.rng.IntN(len(u.words))])
	}
	return strconv.AppendQuote(b, s.String())
}

func (u *Upload) Read(p []byte) (int, error) {
	limit := u.shape.Bytes
	if limit <= 0 {
		limit = math.MaxInt64
	}
	if u.Done >= limit || len(u.left) == 0 && u.shape.Records > 0 && u.Records >= u.shape.Records {
		return 0, io.EOF
	}
	if len(u.left) == 0 {
		ln := u.lengths[u.Records%len(u.lengths)]
		b := append(u.buf[:0], `{"id":"gen-`...)
		b = strconv.AppendInt(b, int64(u.Records), 10)
		b = append(b, `","received_at":"2019-04-30","title":`...)
		b = u.appendWords(b, ln[0])
		b = append(b, `,"body":`...)
		b = u.appendWords(b, ln[1])
		b = append(b, `,"department":`...)
		b = strconv.AppendQuote(b, u.shape.Departments[u.Records%len(u.shape.Departments)])
		b = append(b, "}\n"...)
		u.buf, u.left = b, b
		u.Records++
	}
	n := copy(p, u.left)
	if rest := limit - u.Done; int64(n) > rest {
		n = int(rest)
	}
	u.left = u.left[n:]
	u.Done += int64(n)
	return n, nil
}

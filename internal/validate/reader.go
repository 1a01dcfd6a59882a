package validate

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/transform"
)

// Format is an upload's record format.
type Format string

const (
	FormatJSONL Format = "jsonl"
	FormatCSV   Format = "csv"
)

// Encoding is an upload's character encoding.
type Encoding string

const (
	EncodingUTF8  Encoding = "utf-8"
	EncodingCP949 Encoding = "cp949"
)

// FormatOf picks the format from an object key's extension (.csv, else JSON lines).
func FormatOf(key string) Format {
	if strings.EqualFold(path.Ext(key), ".csv") {
		return FormatCSV
	}
	return FormatJSONL
}

// ReasonBadCSV marks a CSV row that cannot be read as a record.
const ReasonBadCSV Reason = "BAD_CSV"

// RecordError is a record the reader could not produce; reading goes on.
type RecordError struct {
	Line   int
	Reason Reason
	Detail string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Reason, e.Detail)
}

// sniffBytes is how much of an upload decides its encoding. Much Korean public
// data is CP949; a file that is valid UTF-8 this far is taken as UTF-8.
const sniffBytes = 64 << 10

// RecordReader turns an upload (JSON lines or CSV, UTF-8 or CP949) into one JSON
// object per record, streaming, with one record's size bounded.
type RecordReader struct {
	format    Format
	encoding  Encoding
	maxRecord int
	lines     *bufio.Reader
	csv       *csv.Reader
	header    []string
	line      int
}

// NewRecordReader sniffs the encoding and prepares to read records.
func NewRecordReader(r io.Reader, format Format, maxRecord int) (*RecordReader, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	rr := &RecordReader{format: format, encoding: EncodingUTF8, maxRecord: maxRecord}
	var src io.Reader = br
	if !utf8.Valid(trimPartialRune(head)) {
		rr.encoding = EncodingCP949
		src = transform.NewReader(br, korean.EUCKR.NewDecoder())
	}
	src = skipBOM(src)
	switch format {
	case FormatCSV:
		rr.csv = csv.NewReader(src)
		rr.csv.FieldsPerRecord = -1
		rr.csv.LazyQuotes = true
		rr.csv.ReuseRecord = true
		if err := rr.readHeader(); err != nil {
			return nil, err
		}
	case FormatJSONL:
		rr.lines = bufio.NewReaderSize(src, 256<<10)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	return rr, nil
}

// Encoding reports the detected encoding.
func (rr *RecordReader) Encoding() Encoding { return rr.encoding }

// Next returns the next record as a JSON object and its line (JSONL) or row
// (CSV, header = 1) number. A record that cannot be read is a *RecordError;
// io.EOF ends the upload.
func (rr *RecordReader) Next() ([]byte, int, error) {
	if rr.format == FormatCSV {
		return rr.nextCSV()
	}
	for {
		line, tooLong, err := readLine(rr.lines, rr.maxRecord)
		if err != nil {
			return nil, rr.line, err
		}
		rr.line++
		if tooLong {
			return nil, rr.line, &RecordError{Line: rr.line, Reason: ReasonTooLong, Detail: fmt.Sprintf("record longer than %d bytes", rr.maxRecord)}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines are not records
		}
		return line, rr.line, nil
	}
}

var csvFields = []string{"id", "received_at", "title", "body", "department"}

func (rr *RecordReader) readHeader() error {
	hdr, err := rr.csv.Read()
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	rr.line = 1
	rr.header = make([]string, len(hdr))
	for i, h := range hdr {
		rr.header[i] = strings.ToLower(strings.TrimSpace(h))
	}
	for _, want := range csvFields {
		found := false
		for _, h := range rr.header {
			found = found || h == want
		}
		if !found {
			return fmt.Errorf("csv header lacks column %q (want %s)", want, strings.Join(csvFields, ","))
		}
	}
	return nil
}

func (rr *RecordReader) nextCSV() ([]byte, int, error) {
	row, err := rr.csv.Read()
	rr.line++
	if errors.Is(err, io.EOF) {
		return nil, rr.line, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, rr.line, &RecordError{Line: rr.line, Reason: ReasonBadCSV, Detail: pe.Err.Error()}
		}
		return nil, rr.line, err
	}
	if len(row) != len(rr.header) {
		return nil, rr.line, &RecordError{Line: rr.line, Reason: ReasonBadCSV,
			Detail: fmt.Sprintf("row has %d fields, header has %d", len(row), len(rr.header))}
	}
	obj := make(map[string]string, len(csvFields))
	size := 0
	for i, h := range rr.header {
		obj[h] = row[i]
		size += len(row[i])
	}
	if size > rr.maxRecord {
		return nil, rr.line, &RecordError{Line: rr.line, Reason: ReasonTooLong, Detail: fmt.Sprintf("record longer than %d bytes", rr.maxRecord)}
	}
	raw, err := json.Marshal(obj)
	return raw, rr.line, err
}

// readLine returns one line without its newline, or io.EOF once the input is
// exhausted. A line over limit is skipped to its end and reported as tooLong, so
// one bad record cannot exhaust memory.
func readLine(r *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	started := false
	for {
		chunk, isPrefix, err := r.ReadLine()
		if errors.Is(err, io.EOF) && started {
			err = nil // the last line had no newline
		}
		if err != nil {
			return nil, false, err
		}
		started = true
		if len(line)+len(chunk) > limit {
			tooLong, line = true, nil
		} else if !tooLong {
			line = append(line, chunk...)
		}
		if !isPrefix {
			return line, tooLong, nil
		}
	}
}

// trimPartialRune drops an incomplete UTF-8 sequence cut off at the end of a
// sniffed prefix, so that it does not look like invalid UTF-8.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br
}

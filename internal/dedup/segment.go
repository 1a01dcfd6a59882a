package dedup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// A segment is the duplicate index of one approved dataset: the kept
// records' text keys and band keys, each sorted, their signatures and their
// ids. Segments are immutable; a tenant's index is the set of its datasets'
// segments. The layout, all integers little-endian except the sort keys:
//
//	header   magic "DUREIDX1", records u32, reserved u32,
//	         text entries u64, band entries u64, id bytes u64
//	text     16-byte key, record u32                       (sorted)
//	band     4-byte key (big-endian), record u32           (sorted)
//	sigs     64 × u32 per record (zero for short texts)
//	id ends  u64 per record: end offset of its id in ids
//	ids      the records' ids, concatenated
const (
	segmentMagic      = "DUREIDX1"
	segmentHeaderSize = 8 + 4 + 4 + 8 + 8 + 8
)

// Segment is an opened segment file.
type Segment struct {
	// DatasetID names the dataset whose records the segment indexes.
	DatasetID string
	f         *os.File
	records   uint32
	exact     int64
	band      int64
	idBytes   int64
}

func (s *Segment) exactOff() int64 { return segmentHeaderSize }
func (s *Segment) bandOff() int64  { return s.exactOff() + s.exact*exactEntrySize }
func (s *Segment) sigOff() int64   { return s.bandOff() + s.band*bandEntrySize }
func (s *Segment) idEndOff() int64 { return s.sigOff() + int64(s.records)*sigSize*4 }
func (s *Segment) idOff() int64    { return s.idEndOff() + int64(s.records)*8 }
func (s *Segment) size() int64     { return s.idOff() + s.idBytes }

// OpenSegment opens the segment file at path, the index of datasetID.
func OpenSegment(path, datasetID string) (*Segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := readSegmentHeader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("duplicate index of %s: %w", datasetID, err)
	}
	s.DatasetID = datasetID
	return s, nil
}

func readSegmentHeader(f *os.File) (*Segment, error) {
	var h [segmentHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if string(h[:8]) != segmentMagic {
		return nil, errors.New("not a duplicate index segment")
	}
	s := &Segment{
		f:       f,
		records: binary.LittleEndian.Uint32(h[8:]),
		exact:   int64(binary.LittleEndian.Uint64(h[16:])),
		band:    int64(binary.LittleEndian.Uint64(h[24:])),
		idBytes: int64(binary.LittleEndian.Uint64(h[32:])),
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if s.exact > int64(s.records) || s.band > int64(s.records)*bands || info.Size() != s.size() {
		return nil, fmt.Errorf("segment is %d bytes, its header describes %d", info.Size(), s.size())
	}
	return s, nil
}

// Records is the number of records the segment indexes.
func (s *Segment) Records() int { return int(s.exact) }

// Close closes the segment file.
func (s *Segment) Close() error { return s.f.Close() }

// exactInPartition calls fn for every text key in partition p.
func (s *Segment) exactInPartition(p int, partBits uint, fn func(key [16]byte, rec uint32) error) error {
	return s.scanPartition(s.exactOff(), s.exact, exactEntrySize, p, partBits, func(e []byte) error {
		var key [16]byte
		copy(key[:], e[:16])
		return fn(key, binary.LittleEndian.Uint32(e[16:]))
	})
}

// bandsInPartition calls fn for every band key in partition p.
func (s *Segment) bandsInPartition(p int, partBits uint, fn func(key, rec uint32) error) error {
	return s.scanPartition(s.bandOff(), s.band, bandEntrySize, p, partBits, func(e []byte) error {
		return fn(binary.BigEndian.Uint32(e[:4]), binary.LittleEndian.Uint32(e[4:]))
	})
}

// scanPartition finds, by binary search on the sorted section, the entries
// whose key prefix falls in partition p, and reads them in order.
func (s *Segment) scanPartition(off, n int64, size, p int, partBits uint, fn func(e []byte) error) error {
	var readErr error
	prefixAt := func(i int) int {
		var b [4]byte
		if _, err := s.f.ReadAt(b[:], off+int64(i)*int64(size)); err != nil && readErr == nil {
			readErr = err
		}
		return partitionOf(b[:], partBits)
	}
	lo := sort.Search(int(n), func(i int) bool { return prefixAt(i) >= p })
	hi := lo + sort.Search(int(n)-lo, func(i int) bool { return prefixAt(lo+i) > p })
	if readErr != nil {
		return readErr
	}
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, off+int64(lo)*int64(size), int64(hi-lo)*int64(size)), 64<<10)
	buf := make([]byte, size)
	for i := lo; i < hi; i++ {
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
	return nil
}

func (s *Segment) signature(rec uint32, sig *Signature) error {
	if rec >= s.records {
		return fmt.Errorf("record %d of %d", rec, s.records)
	}
	return readSignature(s.f, s.sigOff()+int64(rec)*sigSize*4, sig)
}

func (s *Segment) id(rec uint32) (string, error) {
	if rec >= s.records {
		return "", fmt.Errorf("record %d of %d", rec, s.records)
	}
	return readID(io.NewSectionReader(s.f, s.idEndOff(), int64(s.records)*8), io.NewSectionReader(s.f, s.idOff(), s.idBytes), rec)
}

// WriteSegment writes the index of the batch's kept records to f, which
// becomes a segment: after approval, later uploads are checked against it.
func (b *Batch) WriteSegment(f *os.File) error {
	if !b.resolved {
		return errors.New("dedup: WriteSegment before Resolve")
	}
	if _, err := f.Seek(segmentHeaderSize, io.SeekStart); err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var counts [entryKinds]int64
	var buf [exactEntrySize]byte
	// readPartition and readBands leave the duplicates out and sort.
	for p := range 1 << b.partBits {
		es, err := b.readPartition(byText, p)
		if err != nil {
			return err
		}
		for _, e := range es {
			binary.BigEndian.PutUint64(buf[:8], e.hi)
			binary.BigEndian.PutUint64(buf[8:16], e.lo)
			binary.LittleEndian.PutUint32(buf[16:], e.ord)
			if _, err := w.Write(buf[:exactEntrySize]); err != nil {
				return err
			}
		}
		counts[byText] += int64(len(es))
	}
	for p := range 1 << b.partBits {
		es, err := b.readBands(p)
		if err != nil {
			return err
		}
		for _, e := range es {
			binary.BigEndian.PutUint32(buf[:4], bandKey(e))
			binary.LittleEndian.PutUint32(buf[4:8], bandOrd(e))
			if _, err := w.Write(buf[:bandEntrySize]); err != nil {
				return err
			}
		}
		counts[byBand] += int64(len(es))
	}
	for _, s := range []*spillFile{b.sigs, b.idOffs, b.ids} {
		if _, err := io.Copy(w, io.NewSectionReader(s.f, 0, 1<<62)); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var h [segmentHeaderSize]byte
	copy(h[:], segmentMagic)
	binary.LittleEndian.PutUint32(h[8:], b.n)
	binary.LittleEndian.PutUint64(h[16:], uint64(counts[byText]))
	binary.LittleEndian.PutUint64(h[24:], uint64(counts[byBand]))
	binary.LittleEndian.PutUint64(h[32:], b.idsLen)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		return err
	}
	return nil
}

package dedup

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
)

// DefaultMemoryBudget is what a batch's duplicate detection may hold in
// memory when Options.MemoryBudget is zero.
const DefaultMemoryBudget = 64 << 20

// Options configure a Batch.
type Options struct {
	// Dir is where the batch keeps its temporary files (fingerprints, ids
	// and line numbers, no text); Close removes them.
	Dir string
	// MemoryBudget bounds the bytes of fingerprints held in memory at once.
	// Zero means DefaultMemoryBudget.
	MemoryBudget int64
	// ExpectedRecords is an upper estimate of the records to be added: it
	// sets how finely fingerprints are partitioned, so that one partition
	// fits the budget. More records than expected still work, in larger
	// partitions.
	ExpectedRecords int64
	// Progress, when set, is called after each partition that Resolve
	// finishes, with the partitions done and the total, so that long
	// work can heartbeat.
	Progress func(done, total int)
}

// Kind says whether and how a record duplicates another.
type Kind uint8

const (
	Unique          Kind = iota
	SameID               // its id was used by an earlier record of the batch
	Exact                // same normalised title and body as an earlier record of the batch
	Near                 // about 90% the same as an earlier record of the batch
	ExactOfApproved      // same normalised title and body as an approved record
	NearOfApproved       // about 90% the same as an approved record
	kindCount
)

var kindNames = [kindCount]string{"unique", "same id", "exact copy", "near copy", "exact copy of approved", "near copy of approved"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Verdict is one record's outcome. For a duplicate, Of names the record it
// copies: an earlier record of this batch (OfLine set) or an approved one
// (OfDataset set).
type Verdict struct {
	Kind      Kind
	OfID      string
	OfLine    int
	OfDataset string
	// Similarity is the estimated share of shingles, in percent, for Near
	// and NearOfApproved.
	Similarity int
}

// Duplicate reports whether the record must be left out.
func (v Verdict) Duplicate() bool { return v.Kind != Unique }

// OfApproved reports whether the record copies an approved one.
func (v Verdict) OfApproved() bool { return v.Kind == ExactOfApproved || v.Kind == NearOfApproved }

// Sizes of the fixed entries on disk: the key, then the record's ordinal.
const (
	exactEntrySize = 16 + 4
	idEntrySize    = 8 + 4
	bandEntrySize  = 4 + 4
	// perRecordInMemory is what one record's entries take while its
	// partition is resolved: the near pass holds its 16 band entries,
	// 8 bytes each decoded.
	perRecordInMemory = bands * 8
	verdictSize       = 10
	maxPartitionBits  = 9
	partitionBufBytes = 4 << 10
)

// The three kinds of partitioned entries, each in its own files.
const (
	byID = iota
	byText
	byBand
	entryKinds
)

var entrySizes = [entryKinds]int{byID: idEntrySize, byText: exactEntrySize, byBand: bandEntrySize}

// entry is a decoded id or text entry: a key of up to 16 bytes, read as
// two big-endian halves so that entries sort by integer comparisons (ids
// fill only hi), and the record's ordinal.
type entry struct {
	hi, lo uint64
	ord    uint32
}

func (e entry) sameKey(o entry) bool { return e.hi == o.hi && e.lo == o.lo }

func entryOf(key [16]byte, ord uint32) entry {
	return entry{hi: binary.BigEndian.Uint64(key[:8]), lo: binary.BigEndian.Uint64(key[8:]), ord: ord}
}

func compareEntries(x, y entry) int {
	return cmp.Or(cmp.Compare(x.hi, y.hi), cmp.Compare(x.lo, y.lo), cmp.Compare(x.ord, y.ord))
}

// A band entry is decoded into one integer, the band key above the
// ordinal: band entries, 16 per record, are most of the index.
func bandEntry(key, ord uint32) uint64 { return uint64(key)<<32 | uint64(ord) }
func bandKey(e uint64) uint32          { return uint32(e >> 32) }
func bandOrd(e uint64) uint32          { return uint32(e) }

// Batch collects one upload's fingerprints on disk and resolves its
// duplicates. Add every record in order, then call Resolve once; Verdicts
// and WriteSegment read the outcome. A Batch is not safe for concurrent use.
type Batch struct {
	dir      string
	partBits uint
	parts    [entryKinds][]*os.File
	partW    [entryKinds][]*bufio.Writer
	sigs     *spillFile // Signature per ordinal
	idOffs   *spillFile // end offset of each id in ids, uint64
	ids      *spillFile // ids, concatenated
	lines    *spillFile // line number per ordinal, uint32
	verdicts *os.File   // verdictSize bytes per ordinal, written by Resolve
	n        uint32
	idsLen   uint64
	dup      []uint64 // bit per ordinal: a duplicate, set by Resolve
	resolved bool
	counts   [kindCount]int
	// Decoded partitions, reused from one partition to the next so
	// that resolving makes no garbage in proportion to the records.
	entries  []entry
	bandsBuf []uint64
	progress func(done, total int)
}

// NewBatch creates a batch's temporary files in a fresh folder under o.Dir.
func NewBatch(o Options) (*Batch, error) {
	budget := o.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	// Enough partitions that the expected records' band entries, the
	// largest part, fit the budget in one partition.
	need := max(o.ExpectedRecords, 1) * perRecordInMemory / budget
	partBits := uint(min(bits.Len64(uint64(need)), maxPartitionBits))
	dir, err := os.MkdirTemp(o.Dir, "dure-dedup-*")
	if err != nil {
		return nil, fmt.Errorf("duplicate index work dir: %w", err)
	}
	b := &Batch{dir: dir, partBits: partBits, progress: o.Progress}
	fail := func(err error) (*Batch, error) {
		b.Close()
		return nil, err
	}
	for kind := range entryKinds {
		for p := range 1 << partBits {
			f, err := createPrivate(filepath.Join(dir, fmt.Sprintf("part-%d-%03d", kind, p)))
			if err != nil {
				return fail(err)
			}
			b.parts[kind] = append(b.parts[kind], f)
			b.partW[kind] = append(b.partW[kind], bufio.NewWriterSize(f, partitionBufBytes))
		}
	}
	for _, s := range []struct {
		f    **spillFile
		name string
	}{{&b.sigs, "sigs"}, {&b.idOffs, "id-offsets"}, {&b.ids, "ids"}, {&b.lines, "lines"}} {
		if *s.f, err = newSpillFile(filepath.Join(dir, s.name)); err != nil {
			return fail(err)
		}
	}
	if b.verdicts, err = createPrivate(filepath.Join(dir, "verdicts")); err != nil {
		return fail(err)
	}
	return b, nil
}

// Close removes the batch's files.
func (b *Batch) Close() error {
	for _, files := range b.parts {
		for _, f := range files {
			_ = f.Close()
		}
	}
	for _, s := range []*spillFile{b.sigs, b.idOffs, b.ids, b.lines} {
		if s != nil {
			_ = s.f.Close()
		}
	}
	if b.verdicts != nil {
		_ = b.verdicts.Close()
	}
	return os.RemoveAll(b.dir)
}

// Len is the number of records added.
func (b *Batch) Len() int { return int(b.n) }

// Add appends a record: its id, its line (or row) in the upload, and its
// fingerprint. Records are numbered in the order they are added.
func (b *Batch) Add(id string, line int, fp Fingerprint) error {
	if b.resolved {
		return errors.New("dedup: Add after Resolve")
	}
	if b.n == ^uint32(0) {
		return errors.New("dedup: too many records in one batch")
	}
	ord := b.n
	var e [exactEntrySize]byte
	binary.LittleEndian.PutUint32(e[16:], ord)
	copy(e[:16], fp.Key[:])
	if err := b.put(byText, fp.Key[:4], e[:]); err != nil {
		return err
	}
	idKey := idHash(id)
	copy(e[:8], idKey[:])
	binary.LittleEndian.PutUint32(e[8:], ord)
	if err := b.put(byID, idKey[:4], e[:idEntrySize]); err != nil {
		return err
	}
	if fp.Near {
		binary.LittleEndian.PutUint32(e[4:], ord)
		for _, k := range bandKeys(&fp.Sig) {
			binary.BigEndian.PutUint32(e[:4], k)
			if err := b.put(byBand, e[:4], e[:bandEntrySize]); err != nil {
				return err
			}
		}
	}
	var sig [sigSize * 4]byte
	if fp.Near {
		for i, v := range fp.Sig {
			binary.LittleEndian.PutUint32(sig[i*4:], v)
		}
	}
	b.idsLen += uint64(len(id))
	var off [8]byte
	binary.LittleEndian.PutUint64(off[:], b.idsLen)
	var ln [4]byte
	binary.LittleEndian.PutUint32(ln[:], uint32(min(max(line, 0), 1<<32-1)))
	for _, w := range []struct {
		f *spillFile
		p []byte
	}{{b.sigs, sig[:]}, {b.idOffs, off[:]}, {b.ids, []byte(id)}, {b.lines, ln[:]}} {
		if _, err := w.f.w.Write(w.p); err != nil {
			return err
		}
	}
	b.n++
	return nil
}

// put writes an entry to the partition that the top bits of its key pick.
// Keys are compared as big-endian bytes, so partitions are ranges of the
// sort order and a sorted segment is searched by the same prefix.
func (b *Batch) put(kind int, keyPrefix []byte, e []byte) error {
	_, err := b.partW[kind][partitionOf(keyPrefix, b.partBits)].Write(e)
	return err
}

func partitionOf(keyPrefix []byte, partBits uint) int {
	return int(uint64(binary.BigEndian.Uint32(keyPrefix)) >> (32 - partBits))
}

func idHash(id string) [8]byte {
	sum := sha256.Sum256([]byte(id))
	var k [8]byte
	copy(k[:], sum[:])
	return k
}

// Counts returns how many records Resolve found of each kind.
func (b *Batch) Counts() map[Kind]int {
	out := map[Kind]int{}
	for k, n := range b.counts {
		if n > 0 {
			out[Kind(k)] = n
		}
	}
	return out
}

// Resolve finds every record's verdict, one partition at a time, checking
// in this order:
//
//  1. an id already used earlier in the batch;
//  2. the same text as an approved record;
//  3. the same text as an earlier record of the batch;
//  4. a near copy of an approved record;
//  5. a near copy of an earlier record of the batch.
//
// A record found a duplicate by one criterion is not checked further and
// is never the original that later records are reported against. Each
// criterion is decided over all partitions before the next: partitions
// follow different keys (id, text, band).
func (b *Batch) Resolve(approved []*Segment) error {
	if b.resolved {
		return errors.New("dedup: Resolve called twice")
	}
	b.resolved = true
	for _, ws := range b.partW {
		for _, w := range ws {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	for _, s := range []*spillFile{b.sigs, b.idOffs, b.ids, b.lines} {
		if err := s.w.Flush(); err != nil {
			return err
		}
	}
	if err := b.verdicts.Truncate(int64(b.n) * verdictSize); err != nil {
		return err
	}
	b.dup = make([]uint64, (int(b.n)+63)/64)
	passes := []struct {
		name string
		run  func(p int) error
	}{
		{"ids", b.resolveIDs},
		{"exact copies", func(p int) error { return b.resolveExact(p, approved) }},
		{"near copies", func(p int) error { return b.resolveNear(p, approved) }},
	}
	done, total := 0, len(passes)<<b.partBits
	for _, pass := range passes {
		for p := range 1 << b.partBits {
			if err := pass.run(p); err != nil {
				return fmt.Errorf("duplicates (%s), partition %d: %w", pass.name, p, err)
			}
			if done++; b.progress != nil {
				b.progress(done, total)
			}
		}
	}
	return nil
}

func (b *Batch) isDup(ord uint32) bool { return b.dup[ord/64]&(1<<(ord%64)) != 0 }

// mark records a verdict for ord. of is a batch ordinal, or for an
// approved original the segment's number, with rec its record there.
func (b *Batch) mark(ord uint32, k Kind, agree int, of, rec uint32) error {
	b.dup[ord/64] |= 1 << (ord % 64)
	b.counts[k]++
	var v [verdictSize]byte
	v[0], v[1] = byte(k), byte(agree)
	binary.LittleEndian.PutUint32(v[2:], of)
	binary.LittleEndian.PutUint32(v[6:], rec)
	_, err := b.verdicts.WriteAt(v[:], int64(ord)*verdictSize)
	return err
}

// readPartition decodes and sorts one partition of id or text entries,
// leaving out records already found to be duplicates. The slice is reused
// by the next call.
func (b *Batch) readPartition(kind, p int) ([]entry, error) {
	size := entrySizes[kind]
	es := b.entries[:0]
	err := b.scan(kind, p, func(buf []byte) {
		var key [16]byte
		copy(key[:size-4], buf[:size-4])
		if e := entryOf(key, binary.LittleEndian.Uint32(buf[size-4:size])); !b.isDup(e.ord) {
			es = append(es, e)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(es, compareEntries)
	b.entries = es
	return es, nil
}

// readBands is readPartition for band entries.
func (b *Batch) readBands(p int) ([]uint64, error) {
	es := b.bandsBuf[:0]
	err := b.scan(byBand, p, func(buf []byte) {
		ord := binary.LittleEndian.Uint32(buf[4:8])
		if !b.isDup(ord) {
			es = append(es, bandEntry(binary.BigEndian.Uint32(buf[:4]), ord))
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(es)
	b.bandsBuf = es
	return es, nil
}

// scan calls fn with each raw entry of a partition file.
func (b *Batch) scan(kind, p int, fn func(e []byte)) error {
	f := b.parts[kind][p]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	size := entrySizes[kind]
	r := bufio.NewReaderSize(f, 64<<10)
	var buf [exactEntrySize]byte
	for {
		if _, err := io.ReadFull(r, buf[:size]); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		fn(buf[:size])
	}
}

// groups calls fn for each run of entries with the same key.
func groups(es []entry, fn func(g []entry) error) error {
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].sameKey(es[i]) {
			j++
		}
		if err := fn(es[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// resolveIDs marks every record whose id an earlier record used (1).
func (b *Batch) resolveIDs(p int) error {
	es, err := b.readPartition(byID, p)
	if err != nil {
		return err
	}
	return groups(es, func(g []entry) error {
		for _, e := range g[1:] {
			if err := b.mark(e.ord, SameID, 0, g[0].ord, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// resolveExact marks copies of approved texts (2), then later copies of a
// text within the batch (3). Entries are sorted by key and then ordinal, so
// a group's first entry is its earliest record.
func (b *Batch) resolveExact(p int, approved []*Segment) error {
	es, err := b.readPartition(byText, p)
	if err != nil {
		return err
	}
	for si, seg := range approved {
		err := seg.exactInPartition(p, b.partBits, func(key [16]byte, rec uint32) error {
			k := entryOf(key, 0)
			i, _ := slices.BinarySearchFunc(es, k, compareEntries)
			for ; i < len(es) && es[i].sameKey(k); i++ {
				if b.isDup(es[i].ord) {
					continue
				}
				if err := b.mark(es[i].ord, ExactOfApproved, 0, uint32(si), rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("approved dataset %s: %w", seg.DatasetID, err)
		}
	}
	return groups(es, func(g []entry) error {
		if b.isDup(g[0].ord) {
			return nil // the whole group copies an approved text
		}
		for _, e := range g[1:] {
			if err := b.mark(e.ord, Exact, 0, g[0].ord, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// resolveNear marks near copies of approved records (4), then near copies
// within the batch (5). Records that share a band are candidates; a
// candidate counts only if the whole signatures agree.
func (b *Batch) resolveNear(p int, approved []*Segment) error {
	es, err := b.readBands(p)
	if err != nil {
		return err
	}
	var sigA, sigB Signature
	for si, seg := range approved {
		err := seg.bandsInPartition(p, b.partBits, func(key uint32, rec uint32) error {
			i, _ := slices.BinarySearch(es, bandEntry(key, 0))
			loaded := false
			for ; i < len(es) && bandKey(es[i]) == key; i++ {
				ord := bandOrd(es[i])
				if b.isDup(ord) {
					continue
				}
				if !loaded {
					if err := seg.signature(rec, &sigA); err != nil {
						return err
					}
					loaded = true
				}
				if err := b.signature(ord, &sigB); err != nil {
					return err
				}
				if agree, ok := near(&sigA, &sigB); ok {
					if err := b.mark(ord, NearOfApproved, agree, uint32(si), rec); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("approved dataset %s: %w", seg.DatasetID, err)
		}
	}
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && bandKey(es[j]) == bandKey(es[i]) {
			j++
		}
		if err := b.nearInGroup(es[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// nearInGroup marks the records of one band group that nearly copy the
// group's earliest record still kept.
func (b *Batch) nearInGroup(g []uint64) error {
	orig := -1
	for i, e := range g {
		if !b.isDup(bandOrd(e)) {
			orig = i
			break
		}
	}
	if orig < 0 || orig == len(g)-1 {
		return nil
	}
	var sigA, sigB Signature
	if err := b.signature(bandOrd(g[orig]), &sigA); err != nil {
		return err
	}
	for _, e := range g[orig+1:] {
		ord := bandOrd(e)
		if b.isDup(ord) {
			continue
		}
		if err := b.signature(ord, &sigB); err != nil {
			return err
		}
		if agree, ok := near(&sigA, &sigB); ok {
			if err := b.mark(ord, Near, agree, bandOrd(g[orig]), 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Batch) signature(ord uint32, sig *Signature) error {
	return readSignature(b.sigs.f, int64(ord)*sigSize*4, sig)
}

func readSignature(r io.ReaderAt, off int64, sig *Signature) error {
	var buf [sigSize * 4]byte
	if _, err := r.ReadAt(buf[:], off); err != nil {
		return err
	}
	for i := range sig {
		sig[i] = binary.LittleEndian.Uint32(buf[i*4:])
	}
	return nil
}

// id returns the id of the record at ord.
func (b *Batch) id(ord uint32) (string, error) {
	return readID(b.idOffs.f, b.ids.f, ord)
}

func readID(offs, blob io.ReaderAt, ord uint32) (string, error) {
	var buf [16]byte
	start := int64(0)
	if ord > 0 {
		if _, err := offs.ReadAt(buf[:16], int64(ord-1)*8); err != nil {
			return "", err
		}
		start = int64(binary.LittleEndian.Uint64(buf[:8]))
	} else if _, err := offs.ReadAt(buf[8:16], 0); err != nil {
		return "", err
	}
	end := int64(binary.LittleEndian.Uint64(buf[8:16]))
	if end < start || end-start > 1<<20 {
		return "", errors.New("corrupt id table")
	}
	id := make([]byte, end-start)
	if _, err := blob.ReadAt(id, start); err != nil && !(errors.Is(err, io.EOF) && len(id) == 0) {
		return "", err
	}
	return string(id), nil
}

// Verdicts calls fn with every record's verdict, in the order they were
// added. Duplicates name the record they copy.
func (b *Batch) Verdicts(approved []*Segment, fn func(ord int, v Verdict) error) error {
	if !b.resolved {
		return errors.New("dedup: Verdicts before Resolve")
	}
	if _, err := b.verdicts.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(b.verdicts, 64<<10)
	var buf [verdictSize]byte
	for ord := uint32(0); ord < b.n; ord++ {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return err
		}
		v := Verdict{Kind: Kind(buf[0])}
		if v.Kind >= kindCount {
			return fmt.Errorf("corrupt verdict for record %d", ord)
		}
		of, rec := binary.LittleEndian.Uint32(buf[2:]), binary.LittleEndian.Uint32(buf[6:])
		if v.Kind == Near || v.Kind == NearOfApproved {
			v.Similarity = Similarity(int(buf[1]))
		}
		var err error
		switch v.Kind {
		case Unique:
		case SameID, Exact, Near:
			if v.OfID, err = b.id(of); err == nil {
				v.OfLine, err = b.line(of)
			}
		case ExactOfApproved, NearOfApproved:
			if int(of) >= len(approved) {
				return fmt.Errorf("verdict for record %d names approved segment %d of %d", ord, of, len(approved))
			}
			v.OfDataset = approved[of].DatasetID
			v.OfID, err = approved[of].id(rec)
		}
		if err != nil {
			return err
		}
		if err := fn(int(ord), v); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) line(ord uint32) (int, error) {
	var buf [4]byte
	if _, err := b.lines.f.ReadAt(buf[:], int64(ord)*4); err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(buf[:])), nil
}

// spillFile is an append-only temporary file read back at random.
type spillFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpillFile(name string) (*spillFile, error) {
	f, err := createPrivate(name)
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// createPrivate creates a file only its owner may read: fingerprints and
// ids are the tenant's, like the records.
func createPrivate(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

package textclf

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainToy(t, toyOptions())
	data := modelBytes(t, m)

	loaded, err := Load(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, m.Labels(), loaded.Labels())
	assert.Equal(t, m.Options(), loaded.Options())
	assert.Equal(t, data, modelBytes(t, loaded), "re-saving is lossless")

	probes := append(toyExamples(), Example{Title: "버스와 고양이", Body: "어린이집 앞 도로"}, Example{})
	for _, ex := range probes {
		assert.Equal(t, m.Predict(ex.Title, ex.Body), loaded.Predict(ex.Title, ex.Body), "%q", ex.Title)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	good := modelBytes(t, trainToy(t, toyOptions()))

	// withCRC returns b with its trailing checksum recomputed, so that the
	// structural checks behind the checksum are exercised too.
	withCRC := func(b []byte) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable))
		return b
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	hdrLen := int(binary.LittleEndian.Uint32(good[12:]))
	header := string(good[16 : 16+hdrLen])
	replaceHeader := func(old, new string) []byte {
		require.Contains(t, header, old)
		h := strings.Replace(header, old, new, 1)
		b := append([]byte{}, good[:12]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
		b = append(b, h...)
		b = append(b, good[16+hdrLen:]...)
		return withCRC(b)
	}

	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "bad magic"},
		{"garbage", []byte("this is definitely not a model file"), "bad magic"},
		{"JSON", []byte(`{"labels":["a","b"]}`), "bad magic"},
		{"future version", mutate(func(b []byte) []byte { b[8] = 9; return b }), "unsupported format version 9"},
		{"truncated", good[:len(good)/2], "checksum mismatch"},
		{"flipped bit", mutate(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), "checksum mismatch"},
		{"trailing bytes", withCRC(append(bytes.Clone(good), 0, 0, 0, 0)), "array section"},
		{"header length too big", withCRC(mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1<<30); return b })), "header length"},
		{"one label", replaceHeader(`"labels":["교통","반려동물","육아"]`, `"labels":["교통"]`), "need at least 2"},
		{"unsorted labels", replaceHeader(`"labels":["교통","반려동물","육아"]`, `"labels":["육아","반려동물","교통"]`), "sorted"},
		{"bad hash bits", replaceHeader(`"hash_bits":16`, `"hash_bits":99`), "hash_bits"},
		{"unknown header field", replaceHeader(`"labels":`, `"surprise":1,"labels":`), "unknown field"},
		{"NaN weight", withCRC(mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-8:], 0x7fc00000) // last bias
			return b
		})), "non-finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(bytes.NewReader(tt.data))
			require.Error(t, err)
			assert.True(t, m == nil)
			assert.ErrorIs(t, err, ErrBadModel)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestSaveDirLoadDir(t *testing.T) {
	m := trainToy(t, toyOptions())
	dir := filepath.Join(t.TempDir(), "models", "suwon", "v1")
	meta := map[string]any{"tenant": "suwon", "macro_f1": 0.5}
	require.NoError(t, SaveDir(dir, m, meta))
	assert.Equal(t, map[string]any{"tenant": "suwon", "macro_f1": 0.5}, meta, "caller's map is not modified")

	loaded, err := LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, m.Predict("버스", "노선"), loaded.Predict("버스", "노선"))

	got, err := ReadMeta(dir)
	require.NoError(t, err)
	assert.Equal(t, "suwon", got["tenant"])
	assert.Equal(t, 0.5, got["macro_f1"])
	assert.Equal(t, []any{"교통", "반려동물", "육아"}, got["labels"])
	assert.EqualValues(t, formatVersion, got["format_version"])

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{ModelFile, MetaFile}, names, "no temporary files left behind")

	_, err = LoadDir(t.TempDir())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

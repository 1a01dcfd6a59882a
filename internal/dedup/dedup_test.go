package dedup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/synth"
)

// longBody is a complaint long enough (about 600 runes) that a few changed
// words leave it 90% similar.
var longBody = strings.Join([]string{
	"저는 수원시 영통구에 사는 주민입니다.",
	"매일 아침 아이를 어린이집에 데려다 주는데, 어린이집 앞 왕복 4차선 도로에 과속방지턱도 신호등도 없어서 차들이 시속 60킬로미터가 넘는 속도로 달립니다.",
	"지난달에는 길을 건너던 초등학생이 차에 치일 뻔한 일이 있었고, 학부모들이 구청에 여러 번 민원을 넣었지만 예산이 없다는 답변만 들었습니다.",
	"어린이 보호구역으로 지정되어 있다는 표지판은 있지만 단속 카메라가 없으니 아무도 속도를 줄이지 않습니다.",
	"아이들이 안전하게 다닐 수 있도록 과속방지턱과 횡단보도 신호등, 그리고 무인 단속 카메라를 설치해 주시기를 간곡히 부탁드립니다.",
	"또한 등하원 시간만이라도 교통 지도 인력을 배치해 주시면 좋겠습니다.",
	"주변 아파트 단지가 새로 입주하면서 통행량이 두 배 가까이 늘었고, 대형 화물차도 이 길로 지나다니기 때문에 사고가 나면 크게 다칠 수밖에 없습니다.",
	"인근 주민 삼백여 명이 서명한 청원서도 함께 제출하오니 현장을 한 번 방문하여 살펴보시고 빠른 조치를 취해 주시기 바랍니다.",
	"아이들의 안전은 무엇보다 먼저 지켜져야 한다고 생각합니다.",
	"시장님과 담당 공무원 여러분의 관심을 부탁드리며, 검토 결과를 알려 주시면 감사하겠습니다.",
}, " ")

const longTitle = "어린이집 앞 도로 안전시설 설치 요청"

type rec struct{ id, title, body string }

// resolve runs one batch over recs against the approved segments and
// returns every verdict, in order.
func resolve(t *testing.T, o Options, approved []*Segment, recs ...rec) []Verdict {
	t.Helper()
	b := newBatch(t, o, recs...)
	require.NoError(t, b.Resolve(approved))
	return verdicts(t, b, approved)
}

func newBatch(t *testing.T, o Options, recs ...rec) *Batch {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	b, err := NewBatch(o)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	for i, r := range recs {
		require.NoError(t, b.Add(r.id, i+1, Of(r.title, r.body)))
	}
	return b
}

func verdicts(t *testing.T, b *Batch, approved []*Segment) []Verdict {
	t.Helper()
	var out []Verdict
	require.NoError(t, b.Verdicts(approved, func(ord int, v Verdict) error {
		require.Equal(t, len(out), ord)
		out = append(out, v)
		return nil
	}))
	return out
}

// segmentOf resolves recs as one approved dataset and opens its segment.
func segmentOf(t *testing.T, datasetID string, recs ...rec) *Segment {
	t.Helper()
	b := newBatch(t, Options{}, recs...)
	require.NoError(t, b.Resolve(nil))
	path := filepath.Join(t.TempDir(), datasetID+".idx")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, b.WriteSegment(f))
	require.NoError(t, f.Close())
	s, err := OpenSegment(path, datasetID)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNearDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		title string
		body  string
		want  Kind
	}{
		{"a few words changed", longTitle, strings.NewReplacer("영통구", "팔달구", "삼백여", "이백여", "두 배", "세 배").Replace(longBody), Near},
		{"a sentence dropped", longTitle, strings.Replace(longBody, "아이들의 안전은 무엇보다 먼저 지켜져야 한다고 생각합니다.", "", 1), Near},
		{"punctuation removed", longTitle, strings.NewReplacer(",", "", ".", "").Replace(longBody), Near},
		{"punctuation and case differ", longTitle + "!!", strings.NewReplacer(".", "!", ",", " ,").Replace(longBody), Near},
		{"spacing only is an exact duplicate", longTitle, strings.ReplaceAll(longBody, " ", "\n  ") + "\u200b", Exact},
		{"another complaint on the same topic", "학교 앞 횡단보도 신호등 설치 요청",
			"저는 용인시 기흥구 초등학교 학부모입니다. 학교 정문 앞 도로에는 횡단보도만 있고 신호등이 없어서 아이들이 등교할 때마다 차가 멈추기를 기다리며 위험하게 건넙니다. " +
				"특히 비가 오는 날에는 운전자들이 아이들을 잘 보지 못해 아찔한 순간이 자주 생깁니다. 녹색어머니회 봉사만으로는 한계가 있습니다. " +
				"어린이 보호구역 안전시설 예산을 늘려 신호등과 과속 단속 카메라를 설치해 주시고, 도로 노면에 어린이 보호구역 표시도 다시 칠해 주시기 바랍니다.", Unique},
		{"same text, other half of a short petition", "미군 철수 반대", "미군 철수 반대 동의하시길 부탁드립니다", Unique},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := resolve(t, Options{}, nil, rec{"orig", longTitle, longBody}, rec{"copy", tt.title, tt.body})
			assert.Equal(t, Unique, vs[0].Kind)
			assert.Equal(t, tt.want, vs[1].Kind)
			if tt.want != Unique {
				assert.Equal(t, "orig", vs[1].OfID)
				assert.Equal(t, 1, vs[1].OfLine)
			}
			if tt.want == Near {
				assert.GreaterOrEqual(t, vs[1].Similarity, 90)
			}
		})
	}
}

func TestShortTextsOnlyExact(t *testing.T) {
	vs := resolve(t, Options{}, nil,
		rec{"0", "청원", "더불어민주당 해체 동의하시길 부탁드립니다"},
		rec{"1", "청원", "더불어민주당 해체 동의하시길 부탁드립니다!"},
		rec{"2", "청원", "더불어민주당 해산 동의하시길 부탁드립니다"},
		rec{"3", "청원", " 더불어민주당 해체   동의하시길 부탁드립니다"},
	)
	assert.Equal(t, []Kind{Unique, Unique, Unique, Exact}, kinds(vs))
	assert.Equal(t, "0", vs[3].OfID)
}

func TestSameIDComesFirstAndIsNeverTheOriginal(t *testing.T) {
	vs := resolve(t, Options{}, nil,
		rec{"a", "제목", "첫 번째 민원 본문입니다."},
		rec{"a", "다른 제목", "다른 본문입니다."},
		rec{"b", "다른 제목", "다른 본문입니다."},
		rec{"c", "다른 제목", "다른 본문입니다."},
	)
	assert.Equal(t, []Kind{Unique, SameID, Unique, Exact}, kinds(vs))
	assert.Equal(t, "a", vs[1].OfID)
	// The record rejected for its id is not the original of its text.
	assert.Equal(t, "b", vs[3].OfID)
	assert.Equal(t, 3, vs[3].OfLine)
}

func TestAgainstApproved(t *testing.T) {
	other := "학교 앞 횡단보도에 신호등을 설치해 주시기 바랍니다. 아이들이 매일 위험하게 길을 건너고 있고 지난주에도 사고가 날 뻔했습니다. 부탁드립니다."
	seg := segmentOf(t, "suwon-0123456789abcdef",
		rec{"s-1", longTitle, longBody},
		rec{"s-2", "신호등 설치", other},
		rec{"s-3", longTitle, longBody}, // a duplicate inside the approved batch is not indexed
	)
	assert.Equal(t, 2, seg.Records())
	vs := resolve(t, Options{}, []*Segment{seg},
		rec{"n-1", "신호등 설치", "  " + strings.ReplaceAll(other, " ", "\n")},
		rec{"n-2", longTitle, strings.Replace(longBody, "영통구", "권선구", 1)},
		rec{"n-3", "새 민원", "공원 화장실 청소가 되지 않고 있습니다. 확인 부탁드립니다."},
		rec{"n-4", "새 민원", "공원 화장실 청소가 되지 않고 있습니다. 확인 부탁드립니다."},
	)
	assert.Equal(t, []Kind{ExactOfApproved, NearOfApproved, Unique, Exact}, kinds(vs))
	assert.Equal(t, Verdict{Kind: ExactOfApproved, OfID: "s-2", OfDataset: "suwon-0123456789abcdef"}, vs[0])
	assert.Equal(t, "s-1", vs[1].OfID)
	assert.True(t, vs[1].OfApproved())
	assert.Equal(t, "n-3", vs[3].OfID)
}

// TestPartitionsAgree checks that a tiny memory budget, which spreads the
// fingerprints over many partitions, finds exactly what one partition does.
func TestPartitionsAgree(t *testing.T) {
	recs := sampleRecs(t)
	// Copies: a re-export with different spacing, a lightly edited resubmission, a reused id.
	n := len(recs)
	for i := 0; i < n; i += 7 {
		r := recs[i]
		recs = append(recs, rec{fmt.Sprintf("copy-%d", i), r.title, " " + strings.ReplaceAll(r.body, " ", "  ")})
		if i%3 == 0 {
			recs = append(recs, rec{fmt.Sprintf("edit-%d", i), r.title, strings.Replace(r.body, ".", "!", 1)})
		}
		if i%5 == 0 {
			recs = append(recs, rec{r.id, "재제출", "다른 내용의 민원입니다 " + fmt.Sprint(i)})
		}
	}
	approved := segmentOf(t, "yongin-00", recs[:100]...)
	one := resolve(t, Options{}, []*Segment{approved}, recs[100:]...)
	many := resolve(t, Options{MemoryBudget: 1 << 10, ExpectedRecords: int64(len(recs))}, []*Segment{approved}, recs[100:]...)
	require.Equal(t, one, many)
	counts := map[Kind]int{}
	for _, v := range one {
		counts[v.Kind]++
	}
	t.Logf("verdicts: %v", counts)
	for _, k := range []Kind{Unique, SameID, Exact, Near, ExactOfApproved, NearOfApproved} {
		assert.Positive(t, counts[k], "kind %d", k)
	}
}

func TestNewBatchPartitions(t *testing.T) {
	b, err := NewBatch(Options{Dir: t.TempDir(), MemoryBudget: 64 << 20, ExpectedRecords: 5_000_000})
	require.NoError(t, err)
	defer b.Close()
	// 5 M records × 128 bytes of decoded band entries / 64 MiB → 9 → 16 partitions.
	assert.Len(t, b.parts[byBand], 16)
	small, err := NewBatch(Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer small.Close()
	assert.Len(t, small.parts[byBand], 1)
}

func TestCorruptSegment(t *testing.T) {
	seg := segmentOf(t, "d", rec{"1", "제목", "본문입니다 하나"})
	data, err := os.ReadFile(seg.f.Name())
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":    data[:len(data)-1],
		"not an index": append([]byte("NOTANIDX"), data[8:]...),
		"empty":        nil,
	} {
		path := filepath.Join(t.TempDir(), "bad.idx")
		require.NoError(t, os.WriteFile(path, bad, 0o600))
		_, err := OpenSegment(path, "d")
		assert.Error(t, err, name)
	}
}

func TestFingerprint(t *testing.T) {
	a, b := Of("제목", longBody), Of("제목", longBody)
	require.True(t, a.Near)
	assert.Equal(t, a, b)
	assert.False(t, Of("제목", "짧은 본문입니다").Near)
	// A longer title changes only a few shingles.
	c := Of("제목 어린이집", longBody)
	assert.GreaterOrEqual(t, Agreement(&a.Sig, &c.Sig), nearMatches)
	assert.NotEqual(t, a.Key, c.Key)
}

func kinds(vs []Verdict) []Kind {
	out := make([]Kind, len(vs))
	for i, v := range vs {
		out[i] = v.Kind
	}
	return out
}

// sampleRecs reads the sample complaints shipped in data/complaints.
func sampleRecs(tb testing.TB) []rec {
	tb.Helper()
	var out []rec
	for _, r := range synth.SampleRecords(tb) {
		out = append(out, rec{r.ID, r.Title, r.Body})
	}
	return out
}

// TestSampleComplaints checks the duplicates among the shipped samples:
// the same petitions filed with several tenants (exact copies), and a few
// resubmissions that are near copies of an earlier complaint (checked by
// hand: revised drafts "(수정안)", the same petition sent to two tenants with
// another title, punctuation-only edits), 3 of them within one tenant's file.
func TestSampleComplaints(t *testing.T) {
	recs := synth.SampleRecords(t)
	var all []rec
	withinFile := map[Kind]int{}
	byTenant := map[string][]rec{}
	var tenants []string
	for _, r := range recs {
		tenant, _, _ := strings.Cut(r.ID, "-")
		if byTenant[tenant] == nil {
			tenants = append(tenants, tenant)
		}
		byTenant[tenant] = append(byTenant[tenant], rec{r.ID, r.Title, r.Body})
		all = append(all, rec{r.ID, r.Title, r.Body})
	}
	for _, tenant := range tenants {
		for _, v := range resolve(t, Options{}, nil, byTenant[tenant]...) {
			withinFile[v.Kind]++
		}
	}
	overall := map[Kind]int{}
	for _, v := range resolve(t, Options{}, nil, all...) {
		overall[v.Kind]++
	}
	t.Logf("%d sample records: within a tenant's file %v, over all files %v", len(recs), withinFile, overall)
	assert.Equal(t, 2906, len(recs))
	assert.Equal(t, map[Kind]int{Unique: len(recs) - 3, Near: 3}, withinFile)
	assert.Equal(t, 8, overall[Near], "near duplicates overall")
	assert.Zero(t, overall[SameID])
	assert.Equal(t, len(recs), overall[Unique]+overall[Exact]+overall[Near])
}

// TestEntrySize keeps the memory estimate honest about decoded entries.
func TestEntrySize(t *testing.T) {
	assert.EqualValues(t, perRecordInMemory, bands*unsafe.Sizeof(bandEntry(0, 0)))
	assert.LessOrEqual(t, unsafe.Sizeof(entry{}), uintptr(perRecordInMemory), "one text entry per record fits too")
}

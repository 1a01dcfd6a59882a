package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestNearDuplicates(t *testing.T) {
	const title = "어린이집 앞 도로 안전시설 설치 요청"
	tests := []struct {
		name  string
		title string
		body  string
		want  Reason // "" when accepted
	}{
		{"a few words changed", title, strings.NewReplacer("영통구", "팔달구", "삼백여", "이백여", "두 배", "세 배").Replace(longBody), ReasonNearDuplicate},
		{"a sentence dropped", title, strings.Replace(longBody, "아이들의 안전은 무엇보다 먼저 지켜져야 한다고 생각합니다.", "", 1), ReasonNearDuplicate},
		{"punctuation removed", title, strings.NewReplacer(",", "", ".", "").Replace(longBody), ReasonNearDuplicate},
		{"punctuation and case differ", title + "!!", strings.NewReplacer(".", "!", ",", " ,").Replace(longBody), ReasonNearDuplicate},
		{"spacing only is an exact duplicate", title, strings.ReplaceAll(longBody, " ", "\n  "), ReasonDuplicate},
		{"another complaint on the same topic", "학교 앞 횡단보도 신호등 설치 요청",
			"저는 용인시 기흥구 초등학교 학부모입니다. 학교 정문 앞 도로에는 횡단보도만 있고 신호등이 없어서 아이들이 등교할 때마다 차가 멈추기를 기다리며 위험하게 건넙니다. " +
				"특히 비가 오는 날에는 운전자들이 아이들을 잘 보지 못해 아찔한 순간이 자주 생깁니다. 녹색어머니회 봉사만으로는 한계가 있습니다. " +
				"어린이 보호구역 안전시설 예산을 늘려 신호등과 과속 단속 카메라를 설치해 주시고, 도로 노면에 어린이 보호구역 표시도 다시 칠해 주시기 바랍니다.", ""},
		{"same text, other half of a short petition", "미군 철수 반대", "미군 철수 반대 동의하시길 부탁드립니다", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fixedChecker()
			_, rej := c.Check(line(map[string]any{"id": "orig", "title": title, "body": longBody}))
			require.Nil(t, rej)
			_, rej = c.Check(line(map[string]any{"id": fmt.Sprintf("copy-%d", i), "title": tt.title, "body": tt.body}))
			if tt.want == "" {
				assert.Nil(t, rej)
				return
			}
			require.NotNil(t, rej)
			assert.Equal(t, tt.want, rej.Reason)
			assert.Equal(t, "body", rej.Field)
			assert.Contains(t, rej.Detail, `"orig"`)
		})
	}
}

func TestNearDuplicateShortTextsOnlyExact(t *testing.T) {
	c := fixedChecker()
	for i, b := range []string{
		"더불어민주당 해체 동의하시길 부탁드립니다",
		"더불어민주당 해체 동의하시길 부탁드립니다!",
		"더불어민주당 해산 동의하시길 부탁드립니다",
	} {
		_, rej := c.Check(line(map[string]any{"id": fmt.Sprint(i), "title": "청원", "body": b}))
		assert.Nil(t, rej, "%d", i)
	}
}

func TestMinHashDeterministic(t *testing.T) {
	a, okA := minHash("제목", longBody)
	b, okB := minHash("제목", longBody)
	require.True(t, okA && okB)
	assert.Equal(t, a, b)
	_, ok := minHash("제목", "짧은 본문입니다")
	assert.False(t, ok)
	// A longer title changes only a few shingles.
	c, _ := minHash("제목 어린이집", longBody)
	assert.GreaterOrEqual(t, matches(&a, &c), nearDupMatches)
}

func TestNearIndexCap(t *testing.T) {
	x := newNearIndex(3)
	for i := range 10 {
		sig, ok := minHash(fmt.Sprintf("제목 %d", i), strings.Repeat(fmt.Sprintf("서로 다른 민원 본문 %d번입니다. ", i*7919), 5))
		require.True(t, ok)
		keys := bandKeys(&sig)
		x.add(fmt.Sprint(i), &sig, &keys)
	}
	assert.Len(t, x.ids, 3)
	assert.LessOrEqual(t, len(x.buckets), 3*nearDupBands)
}

// TestCheckerConcurrent checks that concurrent Checks of copies accept
// exactly one of them.
func TestCheckerConcurrent(t *testing.T) {
	c := fixedChecker()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
		reasons  = map[Reason]int{}
	)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := longBody
			if i%2 == 1 {
				body = strings.ReplaceAll(longBody, ".", "!")
			}
			_, rej := c.Check(line(map[string]any{"id": fmt.Sprint(i), "body": body}))
			mu.Lock()
			defer mu.Unlock()
			if rej == nil {
				accepted++
			} else {
				reasons[rej.Reason]++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, accepted)
	assert.Equal(t, 31, reasons[ReasonDuplicate]+reasons[ReasonNearDuplicate])
}

// sampleFiles lists the sample complaints shipped in data/complaints. They
// are part of the repository, so their absence is a broken checkout and
// fails the test rather than skipping it.
func sampleFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "data", "complaints", "*.jsonl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("sample complaints not found in data/complaints (err %v): the checkout is incomplete", err)
	}
	return files
}

// sampleRecords reads the shipped sample complaints.
func sampleRecords(t *testing.T) []Record {
	t.Helper()
	files := sampleFiles(t)
	var recs []Record
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		for l := range bytes.Lines(data) {
			var r Record
			require.NoError(t, json.Unmarshal(l, &r))
			recs = append(recs, r)
		}
	}
	return recs
}

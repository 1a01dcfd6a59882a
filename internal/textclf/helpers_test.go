package textclf

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleDir holds the pilot tenants' complaints, relative to this package.
const sampleDir = "../../data/complaints"

var sampleTenants = []string{"suwon", "seongnam", "yongin"}

// loadSample reads every sample complaint. The result is shared across tests
// and benchmarks in one run; callers must not modify it.
func loadSample(tb testing.TB) []Example {
	tb.Helper()
	sample.once.Do(func() {
		for _, tenant := range sampleTenants {
			f, err := os.Open(filepath.Join(sampleDir, tenant+".jsonl"))
			if err != nil {
				sample.err = err
				return
			}
			ex, err := ReadJSONL(f)
			f.Close()
			if err != nil {
				sample.err = err
				return
			}
			sample.examples = append(sample.examples, ex...)
		}
	})
	require.NoError(tb, sample.err)
	return sample.examples
}

// sample caches the parsed data set for the test binary's lifetime; it is
// test-only state, not part of the package.
var sample struct {
	once     sync.Once
	examples []Example
	err      error
}

// toyExamples is a tiny, clearly separable data set for fast unit tests.
func toyExamples() []Example {
	rows := []Example{
		{"버스 노선 증편 요청", "출퇴근 시간 버스 배차 간격이 너무 깁니다. 노선 증편 바랍니다.", "교통"},
		{"지하철 연장 건의", "지하철 노선 연장으로 교통 불편을 해소해 주세요.", "교통"},
		{"도로 포장 보수", "도로가 파손되어 차량 통행이 위험합니다. 포장 보수 부탁드립니다.", "교통"},
		{"버스 정류장 신설", "정류장이 멀어 버스 이용이 불편합니다.", "교통"},
		{"어린이집 확충 요청", "어린이집 대기가 길어 육아가 힘듭니다. 보육 시설 확충 바랍니다.", "육아"},
		{"초등학교 급식 개선", "학교 급식의 질을 높여 주세요. 아이들 건강이 걱정됩니다.", "육아"},
		{"육아휴직 지원 확대", "육아휴직 급여가 적어 아이 키우기 어렵습니다.", "육아"},
		{"학원 교육비 부담", "사교육 부담이 큽니다. 공교육을 강화해 주세요.", "육아"},
		{"유기견 보호소 개선", "유기견 보호소 환경이 열악합니다. 반려동물 보호를 강화해 주세요.", "반려동물"},
		{"반려견 산책로 조성", "반려견과 산책할 공원이 필요합니다.", "반려동물"},
		{"동물 학대 처벌 강화", "동물 학대범을 강하게 처벌해 주세요. 고양이 학대가 늘고 있습니다.", "반려동물"},
		{"고양이 급식소 설치", "길고양이 급식소를 설치해 주세요.", "반려동물"},
	}
	return rows
}

// toyOptions suit the 12-example toy set: every feature counts.
func toyOptions() Options {
	o := DefaultOptions()
	o.MinDF = 1
	o.HashBits = 16
	return o
}

// trainToy trains on toyExamples with the given options.
func trainToy(t *testing.T, opts Options) *Model {
	t.Helper()
	m, err := Train(context.Background(), toyExamples(), opts, nil)
	require.NoError(t, err)
	return m
}

// modelBytes serialises m.
func modelBytes(t testing.TB, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, m.Save(&buf))
	return buf.Bytes()
}

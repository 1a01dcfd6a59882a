package pii

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// spansOf returns the text of each span of type t that d finds in text.
func spansOf(d *Detector, text string, t Type) []string {
	var out []string
	for _, sp := range d.Detect(text) {
		if sp.Type == t {
			out = append(out, sp.Text)
		}
	}
	return out
}

// nameCase lists the names a text must yield, none for a near miss.
type nameCase struct {
	text  string
	names []string
}

func runNameCases(t *testing.T, cases []nameCase) {
	t.Helper()
	d := NewDetector()
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got := d.Detect(c.text)
			checkSpans(t, c.text, got)
			assert.Equal(t, c.names, spansOf(d, c.text, PERSON))
		})
	}
}

func TestNamesAfterTitles(t *testing.T) {
	runNameCases(t, []nameCase{
		{"주무관 홍길동", []string{"홍길동"}},
		{"문의: 민원여권과 주무관 맹소윤 (내선 3641)", []string{"맹소윤"}},
		{"지방행정주사보 석민재\n", []string{"석민재"}},
		{"현장소장 기성훈)에 작업시간 조정", []string{"기성훈"}},
		{"출장자: 데이터정책팀장 어준혁, 주무관 소예진", []string{"어준혁", "소예진"}}, // 어: a rare surname, alone
		{"위원장 마성열,", []string{"마성열"}},
		{"주무관 방 찬\n", []string{"방 찬"}},              // a surname written apart
		{"주무관  김별    팀장  이솔", []string{"김별", "이솔"}}, // two syllables between wide gaps
		{"대표이사 남궁태식, 공사감리자 반유진 건축사", []string{"남궁태식", "반유진"}},
		// the sign-off block of a letter
		{"주무관  여은솔      행정팀장  곽태호      동장  윤미경\n협조자   주무관 선우진",
			[]string{"여은솔", "곽태호", "윤미경", "선우진"}},
		{"환경정책과장  전결  차윤정\n", []string{"차윤정"}},
		{"정보통신과장  대결  호진아\n", []string{"호진아"}},
		{"기획예산과장  전결  남궁 현\n", []string{"남궁 현"}},
		// the name before the title
		{"홍길동 과장님께 말씀드렸습니다", []string{"홍길동"}},
		{"   - 독고준 위원: 보행 통로 확보 조건으로 찬성.", []string{"독고준"}},
		{"참석위원: 김철수 위원장, 이영희 위원", []string{"김철수", "이영희"}},
		// near misses
		{"과장된 표현이 많다", nil},
		{"예방주사를 맞았다", nil},
		{"주사 맞은 뒤 열이 났다", nil},
		{"팀장 회의에서 정했다", nil},
		{"위원 구성(안)을 보고", nil},
		{"기간제 교사 정규직 전환 문제", nil},  // a noun after a title in a sentence
		{"교사 인건비가 지원되고", nil},      // with a particle
		{"교사 인건비 9,477,355원", nil}, // before an amount
		{"부위원장: 용적률 상향에 따른", nil},  // a speaker in minutes
		{"위원장    성남시       제1부시장", nil},
		{"유치원 원장님께 열람을 청했다", nil}, // the place the title heads
		{"지원한 윤회장님에게", nil},       // a surname glued to the title
		{"과장 이하 직원", nil},
	})
}

func TestNamesAfterLabelsAndRoles(t *testing.T) {
	runNameCases(t, []nameCase{
		{"성명: 사공민철   생년월일", []string{"사공민철"}},
		{"성    명: 선우 다인\n", []string{"선우 다인"}},
		{"이름 | 김별 |", []string{"김별"}},
		{"대표자: 사공혁\n", []string{"사공혁"}},
		{"대표자    빈예준                 (서명)", []string{"빈예준"}},
		{"소유자: 제갈윤\n", []string{"제갈윤"}},
		{"예금주  주봉순\n", []string{"주봉순"}},
		{"제출인(소유자)  선우 다인  (서명)", []string{"선우 다인"}},
		{"수임인 성명 원미자  관계 모(母)", []string{"원미자"}},
		{"보호자: 김철수", []string{"김철수"}},
		{"민원인 백승우 외 36명", []string{"백승우"}},
		{"참석자: 홍길동, 김철수, 이영희", []string{"홍길동", "김철수", "이영희"}},
		{"수신  황보 윤서 귀하", []string{"황보 윤서"}},
		{"                 신청인  홍길동  (서명 또는 인)", []string{"홍길동"}},
		{"          권오성 (인)", []string{"권오성"}},
		{"사회: 홍길동 (간사)", []string{"홍길동"}},
		{"김철수(위원장)은 개회를 선언하였다", []string{"김철수"}},
		{"피해자 홍길동(45세)은", []string{"홍길동"}},
		// near misses
		{"이름을 부르다", nil},
		{"이름 모를 꽃", nil},
		{"성명: 해당 없음", nil},
		{"[성명] 자유한국당은 발표했다", nil}, // 성명 as a statement
		{"피해자(채권자)들의 요청", nil},
		{"대상자: 국내외 수입 법인", nil},
		{"청원인 전라북도 전주시", nil},
		{"부 홍길동", nil}, // 부 counts only as a field label (부: 홍길동)
		{"아들: 아빠 오늘 놀이동산 가?", nil},
		{"주식회사 청명환경 (인)", nil},
		{"담당  재무과 공유재산팀", nil},
	})
}

func TestNamesOfRelatives(t *testing.T) {
	runNameCases(t, []nameCase{
		{"모(母) 홍길순", []string{"홍길순"}},
		{"부(父) 홍길동\n", []string{"홍길동"}},
		{"부: 홍길동, 모: 김영희", []string{"홍길동", "김영희"}},
		{"동생 한동석(연락처 별첨)이", []string{"한동석"}},
		{"자녀 경하율\n", []string{"경하율"}},
		{"배우자 천명호 010-2841-0936", []string{"천명호"}},
		// near misses
		{"자녀 양육 상담", nil},
		{"배우자 명의로 된 집", nil},
		{"딸 셋에 아들 하나인 집안", nil},
	})
}

func TestForeignNames(t *testing.T) {
	runNameCases(t, []nameCase{
		{"성명(영문)      NGUYEN VAN AN", []string{"NGUYEN VAN AN"}},
		{"성명(한글)  응우옌 반 안\n", []string{"응우옌 반 안"}},
		{"이름: 응우옌 반 안", []string{"응우옌 반 안"}},
		{"소유자: TRAN VAN MINH(쩐 반 민)", []string{"TRAN VAN MINH", "쩐 반 민"}},
		{"배우자 쿠마리 샤르마(KUMARI SHARMA) 010-7713-2250", []string{"쿠마리 샤르마", "KUMARI SHARMA"}},
		{"임차인 LIU JIAN 운영 음식점", []string{"LIU JIAN"}},
		{"배우자 MÜLLER THOMAS(독일 국적) 님의", []string{"MÜLLER THOMAS"}}, // 독일 국적 does not spell him
		{"신청인   NGUYEN THI HOA   (서명 또는 인)", []string{"NGUYEN THI HOA"}},
		// near misses
		{"성명(영문) VIETNAM", nil},              // one word
		{"신청인 KIOSK-MW2600S 모델", nil},        // a code
		{"대표자 HRD-Net 과정", nil},              // mixed capitals
		{"성명: 불상의 남자", nil},                  // a word with a particle
		{"이름: ONE TWO THREE FOUR FIVE", nil}, // too many words
	})
}

func TestTransliterates(t *testing.T) {
	assert.True(t, transliterates("쩐 반 민", "TRAN VAN MINH"))
	assert.True(t, transliterates("다나카 유키", "TANAKA YUKI"))
	assert.True(t, transliterates("응우옌 티 호아", "NGUYEN THI HOA"))
	assert.False(t, transliterates("독일 국적", "MÜLLER THOMAS"))
	assert.False(t, transliterates("쩐 반", "TRAN VAN MINH"))
}

func TestNamesInTables(t *testing.T) {
	d := NewDetector()
	ruled := "   연번  성명        생년월일          주소\n" +
		"   ----  ----------  ----------------  ----------\n" +
		"    1    김별        950302-2******    공개하지 않음\n" +
		"    2    왕샤오리    1982. 5. 6.       공개하지 않음\n" +
		"    3    PEREZ MARIA 1990-01-01        공개하지 않음\n\n" +
		"  ※ 생년월일은 뒷자리를 가렸습니다."
	assert.Equal(t, []string{"김별", "왕샤오리", "PEREZ MARIA"}, spansOf(d, ruled, PERSON))
	// Under a 생년월일 heading a masked registration number is a birth date.
	assert.Equal(t, []string{"950302-2******", "1982. 5. 6.", "1990-01-01"}, spansOf(d, ruled, BIRTH_DATE))
	assert.Empty(t, spansOf(d, ruled, RRN))

	pipes := " 연번 | 성명    | 나이 | 직업\n ---- | ------- | ---- | ----\n  1   | 소창수  | 58   | 자영업\n  2   | ZHANG WEI| 51  | 무역업\n"
	assert.Equal(t, []string{"소창수", "ZHANG WEI"}, spansOf(d, pipes, PERSON))

	// Without a rule under the heading, short names do not count, but full
	// ones and names written apart do.
	unruled := "   관계   성명        주민등록번호          비고\n   손자   주 건       041113-4252764        고등학교 3학년\n   자     김철수      880101-1234568        -\n   모     이솔        550101-2234563        -\n"
	assert.Equal(t, []string{"주 건", "김철수"}, spansOf(d, unruled, PERSON))

	// A form line has the same shape as a heading, but the next line is
	// another field, not a row.
	form := "  성명            경민혁              관계  배우자\n  주민등록번호    881030-1308245\n"
	assert.Equal(t, []string{"경민혁"}, spansOf(d, form, PERSON))

	// The spelling in Hangul of a name found elsewhere in the text.
	spelled := "성명(영문)  TANAKA YUKI\n\n3) 다나카 유키(TANAKA YUKI): 통역 봉사"
	assert.Equal(t, []string{"TANAKA YUKI", "다나카 유키", "TANAKA YUKI"}, spansOf(d, spelled, PERSON))
}

func TestSplitCells(t *testing.T) {
	cells := func(line string, pipe bool) []string {
		var out []string
		for _, c := range splitCells(line, 0, len(line), pipe) {
			out = append(out, line[c.a:c.e])
		}
		return out
	}
	assert.Equal(t, []string{"연번", "성명", "생년월일", "장애 여부"}, cells("  연번  성명\t생년월일   장애 여부", false))
	assert.Equal(t, []string{"1", "소창수", "", "자영업"}, cells(" 1 | 소창수 |  | 자영업", true))
	assert.Equal(t, []string{"성명", "홍길동"}, cells("│ 성명 │ 홍길동 │", true))
	assert.True(t, isRuleLine("---- | ------- |"))
	assert.True(t, isRuleLine("├──────┼──────┤"))
	assert.False(t, isRuleLine("1 - 2"))
}

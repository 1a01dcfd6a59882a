package pii

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// GenerateCorpus returns n synthetic complaint-like documents (민원) with
// gold spans, to measure detection per type with [Evaluate]. The same
// seed gives the same documents.
//
// Each document has an opening, one or two sentences with personal data
// (the types take turns, so every type occurs in every n ≥ 14 documents),
// one to three sentences with hard negatives (order and case numbers,
// amounts, plain dates, file names, statute, version and model numbers),
// and a closing. Values are random but valid where a rule exists (dates,
// check digits, Luhn, region codes), and their spellings vary the way they
// do in real complaints. Some values are written in ways the detector
// does not handle (a road name alone that reads like a noun with a
// particle), so recall below 1 is expected.
func GenerateCorpus(seed int64, n int) []LabelledDoc {
	g := corpusGen{r: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
	docs := make([]LabelledDoc, 0, n)
	for k := range n {
		docs = append(docs, g.doc(k))
	}
	return docs
}

type corpusGen struct {
	r *rand.Rand
	b docBuilder
}

// docBuilder writes a document and records gold spans in rune offsets.
type docBuilder struct {
	sb    strings.Builder
	runes int
	spans []Span
}

func (d *docBuilder) text(s string) {
	d.sb.WriteString(s)
	d.runes += utf8.RuneCountInString(s)
}

func (d *docBuilder) value(t Type, v string) {
	start := d.runes
	d.text(v)
	d.spans = append(d.spans, Span{Start: start, End: d.runes, Type: t, Text: v})
}

// corpusTypes is the order in which documents take their main type.
var corpusTypes = [...]Type{PERSON, PHONE, ADDRESS, RRN, EMAIL, ACCOUNT, CARD, VEHICLE,
	BIRTH_DATE, PASSPORT, DRIVER_LICENSE, BUSINESS_REG, FRN, IP}

func (g *corpusGen) doc(k int) LabelledDoc {
	g.b = docBuilder{}
	var parts []string
	parts = append(parts, g.pick(piiTemplates[corpusTypes[k%len(corpusTypes)]]))
	if g.r.IntN(2) == 0 {
		parts = append(parts, g.pick(piiTemplates[corpusTypes[g.r.IntN(len(corpusTypes))]]))
	}
	for range 1 + g.r.IntN(3) {
		parts = append(parts, g.pick(negativeTemplates))
	}
	g.r.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
	parts = append([]string{g.pick(openings)}, parts...)
	parts = append(parts, g.pick(closings))
	for j, tpl := range parts {
		if j > 0 {
			g.b.text(" ")
		}
		g.expand(tpl)
	}
	return LabelledDoc{Text: g.b.sb.String(), Spans: g.b.spans}
}

func (g *corpusGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// expand writes a template, replacing each {NAME} with a generated value.
func (g *corpusGen) expand(tpl string) {
	for tpl != "" {
		a := strings.IndexByte(tpl, '{')
		if a < 0 {
			g.b.text(tpl)
			return
		}
		g.b.text(tpl[:a])
		e := strings.IndexByte(tpl[a:], '}')
		name := tpl[a+1 : a+e]
		tpl = tpl[a+e+1:]
		gen, ok := slotGenerators[name]
		if !ok {
			panic("pii: corpus template slot {" + name + "} is not defined")
		}
		gen(g)
	}
}

var openings = []string{
	"안녕하세요.", "수고 많으십니다.", "민원 드립니다.", "담당 부서에 문의드립니다.",
	"{DATE}에 접수한 민원과 관련하여 다시 연락드립니다.", "시청 홈페이지를 통해 민원을 제기합니다.",
	"여러 번 전화드렸는데 답변이 없어 글을 남깁니다.", "아래 내용 확인 부탁드립니다.",
}

var closings = []string{
	"빠른 처리 부탁드립니다.", "감사합니다.", "답변 기다리겠습니다.", "조속히 조치해 주시기 바랍니다.",
	"검토 후 회신 바랍니다.", "더 이상 피해가 없도록 해 주세요.",
}

// piiTemplates hold sentences with one kind of personal data each (and
// sometimes a second).
var piiTemplates = map[Type][]string{
	PERSON: {
		"어제 {NAME} 씨가 민원실에 다녀갔습니다.", "{NAME}님께서 안내해 주셨는데 내용이 달랐습니다.",
		"민원인 {NAME_TOPIC} 아파트 관리 문제로 여러 차례 방문했습니다.", "성명: {NAME}",
		"이름 : {NAME} (세대주)", "담당자 {NAME} 주무관께 전달 부탁드립니다.",
		"{NAME} 주무관에게 통화 요청드립니다.", "신청인 성명: {NAME}, 연락처 {MOBILE}",
		"앞집 사는 {NAME} 씨와 주차 문제로 다툼이 있었습니다.", "담당 {NAME} 씨의 설명이 부족했습니다.",
		"[성명] {NAME}", "민원인 {NAME}입니다.", "{NAME} 씨에게 서류를 전달했습니다.",
		// Names without a cue word or before a title: real misses.
		"저 {NAME_TOPIC} 이 동네에 20년째 살고 있습니다.", "{NAME} 과장님께 말씀드렸습니다.",
	},
	PHONE: {
		"연락처는 {MOBILE}입니다.", "휴대폰 {MOBILE}로 문자 주세요.", "연락 가능한 번호 {MOBILE} 입니다.",
		"사무실 전화 {LANDLINE}로 연락 주시기 바랍니다.", "관리사무소({LANDLINE})에 문의해도 답이 없습니다.",
		"해외 체류 중이라 {PHONE_INTL}로 연락 부탁드립니다.", "고객센터 {PHONE_REP}에 여러 번 걸었습니다.",
		"연락처 {PHONE_LOCAL} (자택)", "전화번호: {LANDLINE}", "HP {MOBILE}", "연락처: {MOBILE}, {LANDLINE}",
		"번호는 {PHONE_ODD} 입니다.",
	},
	ADDRESS: {
		"주소는 {ADDR_ROAD}입니다.", "{ADDR_ROAD} 앞 도로가 파손되었습니다.", "저희 집은 {ADDR_ROAD}에 있습니다.",
		"{ADDR_LOT} 일대에 쓰레기가 무단 투기되고 있습니다.", "사업장 소재지: {ADDR_ROAD}",
		"{ADDR_BARE} 앞 횡단보도 신호가 너무 짧습니다.", "주소: {ADDR_BARE}", "{ADDR_LOT_BARE} 주변 공사 소음이 심합니다.",
		"거주지 {ADDR_ROAD}, 세대주 본인입니다.",
	},
	RRN: {
		"주민등록번호는 {RRN}입니다.", "신청서에 주민번호 {RRN}를 적었는데 반려되었습니다.",
		"본인({RRN}) 명의로 가입된 내역을 확인해 주세요.", "주민등록번호 뒷자리를 가려 {RRN_MASKED}로 보냅니다.",
		"스캔 파일 scan_{RRN_HYPHEN}.pdf 을 첨부합니다.", "아버지 주민등록번호 {RRN} 로 조회해 주세요.",
	},
	FRN: {
		"외국인등록번호 {FRN}로 조회가 되지 않습니다.", "외국인 근로자 등록번호는 {FRN}입니다.",
		"배우자의 외국인등록번호({FRN})를 첨부합니다.",
	},
	EMAIL: {
		"회신은 {EMAIL}로 부탁드립니다.", "이메일({EMAIL})로 서류를 보냈습니다.", "메일 주소: {EMAIL}",
		"자료는 {EMAIL} 으로 보내 주세요.",
	},
	ACCOUNT: {
		"환불은 {BANK_ACCOUNT}로 부탁드립니다.", "환불 계좌: {BANK_ACCOUNT} (예금주 본인)",
		"계좌번호 {ACCOUNT}로 입금했는데 확인이 안 됩니다.", "보상금을 {BANK_ACCOUNT}으로 이체해 주세요.",
		"{BANK_SHORT} {ACCOUNT} 예금주 본인입니다.", "입금 계좌는 {BANK_ACCOUNT} 입니다.",
		"{ACCOUNT_PLAIN}(국민은행)으로 보내 주세요.",
	},
	CARD: {
		"결제한 카드 {CARD} 내역을 확인해 주세요.", "카드번호 {CARD}로 이중 결제되었습니다.",
		"신용카드({CARD}) 승인 취소를 요청합니다.",
	},
	VEHICLE: {
		"{PLATE} 차량이 매일 인도에 주차합니다.", "차량번호 {PLATE} 불법 주차 신고합니다.",
		"{PLATE_REGION} 택시가 승차를 거부했습니다.", "제 차({PLATE})가 견인되었습니다.",
		"차량 번호 {PLATE_SPACED} 차량이 소방차 전용 구역에 서 있습니다.", "{PLATE}가 신호를 위반했습니다.",
		"가해 차량은 {PLATE_GAPS}입니다.",
	},
	BIRTH_DATE: {
		"생년월일: {DOB}", "생년월일은 {DOB}이고 본인 확인 부탁드립니다.", "DOB {DOB}",
		"저는 {DOB_KO}생입니다.", "신청인 생년월일 {DOB} (양력)", "아이 생일이 {DOB}인데 접종 안내가 오지 않았습니다.",
	},
	PASSPORT: {
		"여권번호 {PASSPORT}로 예약했습니다.", "여권({PASSPORT}) 사본을 첨부합니다.",
		"Passport No. {PASSPORT}", "여권 번호: {PASSPORT}, 만료일 2030-05-01",
	},
	DRIVER_LICENSE: {
		"운전면허번호 {DL}로 조회해 주세요.", "면허번호: {DL_OLD}", "운전면허증({DL}) 재발급을 신청합니다.",
		"운전면허 {DL_PLAIN} 갱신 안내를 받지 못했습니다.", "단속 당시 제시한 면허증 번호는 {DL}입니다.",
	},
	BUSINESS_REG: {
		"사업자등록번호 {BRN}로 조회됩니다.", "사업자번호: {BRN}", "해당 업체(사업자등록번호 {BRN})를 신고합니다.",
		"사업자 {BRN_PLAIN} 상호 변경 건입니다.",
	},
	IP: {
		"접속 IP {IPV4}에서 로그인 시도가 있었습니다.", "관리자 페이지 접근 IP: {IPV4}",
		"서버 주소 {IPV6}로 접속이 안 됩니다.", "공유기 주소({IPV4})를 바꾼 뒤 문제가 생겼습니다.",
	},
}

// negativeTemplates hold values that look like personal data but are not.
var negativeTemplates = []string{
	"주문번호 {ORDER} 상품이 아직 오지 않았습니다.", "사건번호 {CASE} 관련 서류를 요청합니다.",
	"{AMOUNT}을 돌려받지 못했습니다.", "{DATE}에 현장 점검을 했다고 들었습니다.",
	"첨부파일 {FILE} 확인 바랍니다.", "{STATUTE}에 따라 처리해 주십시오.",
	"앱을 {VERSION}(으)로 업데이트한 뒤 오류가 납니다.", "모델명 {MODEL} 제품의 리콜 여부를 알려 주세요.",
	"운영 시간은 09:00~18:00이라고 안내받았습니다.", "주민 {COUNT}이 같은 피해를 보고 있습니다.",
	"{DATE} {TIME}경 소음이 심했습니다.", "접수번호 {RECEIPT}로 확인했습니다.",
	"{CASE_OLD} 판결 취지와 다릅니다.", "학교로 {COUNT} 학생이 다닙니다.", "앞으로 10년은 더 걸린다고 합니다.",
	"날씨가 추워 동파가 걱정됩니다.", "관리비가 {AMOUNT} 올랐습니다.", "임진왜란(1592-1598년) 유적지 안내판이 훼손되었습니다.",
	"공사 기간은 {DATE}부터 3개월입니다.", "송장번호 {PARCEL} 택배가 분실되었습니다.",
	"과태료 {AMOUNT} 고지서를 받았습니다.", "해결 방법이 12가지나 된다고 하는데 하나도 안 됩니다.",
	"입금을 확인했다며 주문번호 {ORDER13}로 발송한다고 했습니다.", "모델 {MODEL_M} 제품이 고장 났습니다.",
	"무역적자가 {TRILLION}에 달한다고 합니다.", "병원을 상대로 1심에서 이겼습니다.",
	"규정대로 30일 이내 처리해 주세요.", "아저씨가 부모님과 선생님께 인사했습니다.",
	"민원인들이 모여 항의했습니다.", "서울로 2시간 걸립니다.", "상위 1.2.3.4번 항목을 보세요.",
	"담당 부서 연락처를 알려 주세요.", "트위터 @happy_mom 계정에 글을 올렸습니다.",
	"모든 민원은 접수 후 14일 이내 처리한다고 들었습니다.", "2019-2023년 사업 결과를 공개해 주세요.",
}

func (g *corpusGen) digits(n int) string {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// digitsNZ is digits whose first digit is not 0.
func (g *corpusGen) digitsNZ(n int) string {
	return string(rune('1'+g.r.IntN(9))) + g.digits(n-1)
}

func (g *corpusGen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g *corpusGen) date(fromYear, toYear int) (y, m, d int) {
	y, m = g.between(fromYear, toYear), g.between(1, 12)
	for d = g.between(1, 31); !validDate(y, m, d); d-- {
	}
	return y, m, d
}

// rrn returns a registration number (hyphen included) for a birth in
// 1940-2015; foreign selects the foreigner digits 5-8.
func (g *corpusGen) rrn(foreign bool) string {
	y, m, d := g.date(1940, 2015)
	gd := 1 + g.r.IntN(2)
	if y >= 2000 {
		gd += 2
	}
	if foreign {
		gd += 4
	}
	birth := fmt.Sprintf("%02d%02d%02d", y%100, m, d)
	serial := fmt.Sprint(gd) + g.digits(5)
	check := g.r.IntN(10) // random serials since October 2020
	if g.r.IntN(10) < 7 {
		for c := range 10 {
			if rrnCheckDigitOK(birth, serial+fmt.Sprint(c)) {
				check = c
			}
		}
	}
	return birth + "-" + serial + fmt.Sprint(check)
}

func (g *corpusGen) sep(list string) string {
	k := g.r.IntN(len(list))
	return list[k : k+1]
}

var areaCodes = []string{"02", "031", "032", "033", "041", "042", "043", "044", "051", "052", "053",
	"054", "055", "061", "062", "063", "064", "070"}

var givenNames = []string{
	"민준", "서준", "도윤", "예준", "시우", "하준", "주원", "지호", "지후", "준우", "준서", "건우", "도현",
	"현우", "지훈", "우진", "선우", "서진", "민재", "현준", "연우", "유준", "정우", "승우", "승현", "시윤",
	"준혁", "은우", "지환", "승민", "유찬", "민성", "준영", "동현", "태윤", "재원", "한결", "윤호", "서연",
	"서윤", "서현", "민서", "하은", "하윤", "윤서", "지유", "지민", "채원", "지윤", "은서", "수아", "다은",
	"예은", "지아", "수빈", "소율", "예린", "예원", "지원", "소윤", "하린", "시은", "유진", "채은", "영희",
	"철수", "영수", "순자", "미경", "정희", "경숙", "영자", "명숙", "성호", "상철", "동수", "광수", "정호",
	"현숙", "미숙", "은정", "혜진", "민정", "훈", "진", "솔", "혁",
}

// corpusSurnames is weighted roughly by population: 김, 이, 박 first.
var corpusSurnames = []string{"김", "김", "김", "이", "이", "박", "박", "최", "정", "강", "조", "윤", "장",
	"임", "한", "오", "서", "신", "권", "황", "안", "송", "류", "전", "홍", "고", "문", "양", "손", "배",
	"백", "허", "남", "심", "노", "하", "곽", "성", "차", "주", "우", "구", "민", "유", "나", "진", "남궁",
	"황보", "제갈", "선우"}

type bankSpec struct {
	name   string // as written before 은행 or alone
	short  string // the bare name right before a number
	shape  []int
	prefix string
}

var corpusBanks = []bankSpec{
	{"국민은행", "국민", []int{6, 2, 6}, ""}, {"신한은행", "신한", []int{3, 3, 6}, "110"},
	{"우리은행", "우리", []int{4, 3, 6}, "1002"}, {"하나은행", "하나", []int{3, 6, 5}, ""},
	{"농협", "농협", []int{3, 4, 4, 2}, "302"}, {"기업은행", "기업", []int{3, 6, 2, 3}, ""},
	{"카카오뱅크", "카카오뱅크", []int{4, 2, 7}, "3333"}, {"토스뱅크", "토스뱅크", []int{4, 4, 4}, "1000"},
	{"케이뱅크", "케이뱅크", []int{3, 3, 6}, "100"}, {"SC제일은행", "SC제일", []int{3, 2, 6}, ""},
	{"우체국", "우체국", []int{6, 2, 6}, ""}, {"새마을금고", "새마을금고", []int{4, 2, 7}, "9002"},
	{"부산은행", "부산", []int{3, 4, 4, 2}, "101"}, {"대구은행", "대구", []int{3, 2, 6, 1}, "508"},
	{"경남은행", "경남", []int{3, 2, 7}, "207"}, {"광주은행", "광주", []int{3, 3, 6}, "107"},
	{"전북은행", "전북", []int{3, 2, 7}, "501"}, {"씨티은행", "씨티", []int{3, 6, 3}, ""},
}

func (g *corpusGen) account(b bankSpec) string {
	var parts []string
	for k, l := range b.shape {
		if k == 0 && b.prefix != "" && len(b.prefix) == l {
			parts = append(parts, b.prefix)
			continue
		}
		if k == 0 {
			parts = append(parts, g.digitsNZ(l))
		} else {
			parts = append(parts, g.digits(l))
		}
	}
	if g.r.IntN(5) == 0 {
		return strings.Join(parts, "") // printed without hyphens
	}
	return strings.Join(parts, "-")
}

func (g *corpusGen) luhnComplete(prefix string, n int) string {
	body := prefix + g.digits(n-1-len(prefix))
	for c := range 10 {
		v := body + fmt.Sprint(c)
		if luhnOK([]byte(v)) {
			return v
		}
	}
	panic("unreachable")
}

func (g *corpusGen) brn() string {
	for {
		v := fmt.Sprintf("%03d%02d%04d", g.between(101, 899), g.between(1, 99), g.r.IntN(10000))
		for c := range 10 {
			var d [10]int
			for k := range 9 {
				d[k] = int(v[k] - '0')
			}
			d[9] = c
			if businessRegOK(d) {
				return v + fmt.Sprint(c)
			}
		}
	}
}

var roadNames = []string{
	"테헤란로", "도곡로", "효원로", "판교역로", "중앙로", "올림픽로", "세종대로", "강남대로", "월드컵로", "경수대로",
	"동탄대로", "권광로", "영통로", "수성로", "창룡대로", "분당로", "성남대로", "황새울로", "용구대로", "중부대로",
	"백범로", "퇴계로", "을지로", "인계로", "매탄로", "정자일로", "광교중앙로", "덕영대로", "포은대로", "수지로",
}

var roadWithNumbers = []string{"도곡로18길", "까치고개로208번길", "효원로 12번길", "광교로 147번길", "성남대로43번길", "동탄순환대로 21길"}

var adminPrefixes = []string{
	"서울특별시 강남구", "서울시 서초구", "서울 종로구", "부산광역시 해운대구", "대구광역시 수성구",
	"인천광역시 남동구", "광주광역시 북구", "대전광역시 유성구", "울산광역시 남구", "세종특별자치시",
	"경기도 수원시 팔달구", "경기도 성남시 분당구", "경기도 용인시 수지구", "경기 화성시", "강원도 춘천시",
	"충청북도 청주시 상당구", "충남 천안시 동남구", "전라북도 전주시 완산구", "전남 여수시",
	"경상북도 포항시 북구", "경남 창원시 성산구", "제주특별자치도 제주시", "수원시 영통구", "용인시 기흥구",
}

var lotPlaces = []string{"역삼동", "신림동", "매탄동", "정자동", "상현동", "진관동", "독산1동", "금곡동", "구미동",
	"모현읍 왕산리", "봉담읍 상리", "남사읍 완장리"}

func (g *corpusGen) buildingNumber() string {
	v := fmt.Sprint(g.between(1, 999))
	if g.r.IntN(5) == 0 {
		v += "-" + fmt.Sprint(g.between(1, 40))
	}
	return v
}

func (g *corpusGen) addressDetail() string {
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf(" %d동 %d호", g.between(101, 120), g.between(1, 25)*100+g.between(1, 4))
	case 1:
		return fmt.Sprintf(", %d층", g.between(1, 15))
	case 2:
		return " (" + g.pick([]string{"매탄동", "진안동", "삼평동", "역삼동", "정자동"}) + ")"
	}
	return ""
}

func (g *corpusGen) name() string {
	s := g.pick(corpusSurnames)
	given := g.pick(givenNames)
	if utf8.RuneCountInString(s) == 2 && utf8.RuneCountInString(given) == 1 {
		given = g.pick(givenNames[:20])
	}
	return s + given
}

// hasFinal reports whether the last syllable of w ends in a consonant,
// which picks the particle form (은/는, 이/가).
func hasFinal(w string) bool {
	r, _ := utf8.DecodeLastRuneInString(w)
	return firstSyllable <= r && r <= lastSyllable && (r-firstSyllable)%28 != 0
}

func (g *corpusGen) dob(korean bool) string {
	y, m, d := g.date(1940, 2020)
	if korean {
		return fmt.Sprintf("%d년 %d월 %d일", y, m, d)
	}
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf("%d.%02d.%02d", y, m, d)
	case 1:
		return fmt.Sprintf("%d. %d. %d", y, m, d)
	case 2:
		return fmt.Sprintf("%d년 %d월 %d일", y, m, d)
	case 3:
		return fmt.Sprintf("%02d%02d%02d", y%100, m, d)
	case 4:
		return fmt.Sprintf("%d%02d%02d", y, m, d)
	}
	return fmt.Sprintf("%d-%02d-%02d", y, m, d)
}

var plateRegions = []string{"서울", "부산", "대구", "인천", "광주", "대전", "울산", "경기", "강원", "충북", "충남",
	"전북", "전남", "경북", "경남", "제주"}

func (g *corpusGen) plate() string {
	syl := []rune(plateSyllables)
	n := 2
	if g.r.IntN(2) == 0 {
		n = 3
	}
	return g.digitsNZ(n) + string(syl[g.r.IntN(len(syl))]) + g.digits(4)
}

func (g *corpusGen) mobile() string {
	mid, last := g.digitsNZ(4), g.digits(4)
	switch g.r.IntN(6) {
	case 0:
		return "010" + mid + last
	case 1:
		return "010." + mid + "." + last
	case 2:
		return "010 " + mid + " " + last
	}
	return "010-" + mid + "-" + last
}

func (g *corpusGen) landline() string {
	area := g.pick(areaCodes)
	ex := g.digitsNZ(3 + g.r.IntN(2))
	if g.r.IntN(4) == 0 {
		return "(" + area + ") " + ex + "-" + g.digits(4)
	}
	return area + "-" + ex + "-" + g.digits(4)
}

// slotGenerators write the value for each {SLOT} of a template: gold
// spans for personal data, plain text for everything else.
var slotGenerators = map[string]func(g *corpusGen){
	"NAME": func(g *corpusGen) { g.b.value(PERSON, g.name()) },
	"NAME_TOPIC": func(g *corpusGen) {
		n := g.name()
		g.b.value(PERSON, n)
		if hasFinal(n) {
			g.b.text("은")
		} else {
			g.b.text("는")
		}
	},
	"MOBILE":   func(g *corpusGen) { g.b.value(PHONE, g.mobile()) },
	"LANDLINE": func(g *corpusGen) { g.b.value(PHONE, g.landline()) },
	"PHONE_INTL": func(g *corpusGen) {
		mid, last := g.digitsNZ(4), g.digits(4)
		v := g.pick([]string{"+82-10-%s-%s", "+82 10 %s %s", "+82 (0)10-%s-%s", "+8210%s%s"})
		g.b.value(PHONE, fmt.Sprintf(v, mid, last))
	},
	"PHONE_ODD": func(g *corpusGen) {
		// Spellings the parser does not take: spaced hyphens, a bracket.
		mid, last := g.digitsNZ(4), g.digits(4)
		g.b.value(PHONE, fmt.Sprintf(g.pick([]string{"010 - %s - %s", "010)%s-%s", "010-%s-%s"}), mid, last))
	},
	"PHONE_REP": func(g *corpusGen) {
		g.b.value(PHONE, g.pick([]string{"1588", "1577", "1544", "1661", "1899", "1600"})+"-"+g.digits(4))
	},
	"PHONE_LOCAL": func(g *corpusGen) {
		// Exchanges start with 2-9.
		g.b.value(PHONE, string(rune('2'+g.r.IntN(8)))+g.digits(2+g.r.IntN(2))+"-"+g.digits(4))
	},
	"EMAIL": func(g *corpusGen) {
		local := g.pick([]string{"hong.gildong", "kim1987", "jiyoung_lee", "minsu.park", "sjchoi", "happy.mom",
			"yoon_seo22", "dkim", "leehj", "parkjw.work"})
		if g.r.IntN(2) == 0 {
			local += fmt.Sprint(g.between(1, 99))
		}
		g.b.value(EMAIL, local+"@"+g.pick([]string{"naver.com", "daum.net", "gmail.com", "hanmail.net",
			"kakao.com", "korea.kr", "example.co.kr", "suwon.go.kr"}))
	},
	"RRN": func(g *corpusGen) {
		v := g.rrn(false)
		if g.r.IntN(5) == 0 {
			v = strings.Replace(v, "-", "", 1)
		}
		g.b.value(RRN, v)
	},
	"RRN_HYPHEN": func(g *corpusGen) { g.b.value(RRN, g.rrn(false)) },
	"RRN_MASKED": func(g *corpusGen) { g.b.value(RRN, g.rrn(false)[:8]+"******") },
	"FRN":        func(g *corpusGen) { g.b.value(FRN, g.rrn(true)) },
	"CARD": func(g *corpusGen) {
		var v string
		switch g.r.IntN(5) {
		case 0:
			v = g.luhnComplete("37", 15)
			g.b.value(CARD, v[:4]+"-"+v[4:10]+"-"+v[10:])
			return
		case 1:
			v = g.luhnComplete("9410", 16)
		case 2:
			v = g.luhnComplete("5"+fmt.Sprint(g.between(1, 5)), 16)
		default:
			v = g.luhnComplete("4", 16)
		}
		switch g.r.IntN(4) {
		case 0:
			g.b.value(CARD, v)
		case 1:
			g.b.value(CARD, v[:4]+" "+v[4:8]+" "+v[8:12]+" "+v[12:])
		default:
			g.b.value(CARD, v[:4]+"-"+v[4:8]+"-"+v[8:12]+"-"+v[12:])
		}
	},
	"BRN": func(g *corpusGen) {
		v := g.brn()
		g.b.value(BUSINESS_REG, v[:3]+"-"+v[3:5]+"-"+v[5:])
	},
	"BRN_PLAIN": func(g *corpusGen) { g.b.value(BUSINESS_REG, g.brn()) },
	"BANK_ACCOUNT": func(g *corpusGen) {
		b := corpusBanks[g.r.IntN(len(corpusBanks))]
		g.b.text(b.name + " ")
		g.b.value(ACCOUNT, g.account(b))
	},
	"BANK_SHORT": func(g *corpusGen) {
		// Writes the bank; the template's {ACCOUNT} follows right after.
		g.b.text(corpusBanks[g.r.IntN(len(corpusBanks))].short)
	},
	"ACCOUNT_PLAIN": func(g *corpusGen) {
		g.b.value(ACCOUNT, strings.ReplaceAll(g.account(corpusBanks[g.r.IntN(len(corpusBanks))]), "-", ""))
	},
	"ACCOUNT": func(g *corpusGen) {
		g.b.value(ACCOUNT, g.account(corpusBanks[g.r.IntN(len(corpusBanks))]))
	},
	"PASSPORT": func(g *corpusGen) {
		l := g.pick([]string{"M", "M", "M", "S", "R", "G", "D"})
		if g.r.IntN(2) == 0 {
			g.b.value(PASSPORT, l+g.digits(8))
		} else {
			g.b.value(PASSPORT, l+g.digits(3)+string(rune('A'+g.r.IntN(26)))+g.digits(4))
		}
	},
	"DL": func(g *corpusGen) {
		g.b.value(DRIVER_LICENSE, fmt.Sprintf("%d-%s-%s-%s", g.between(11, 26), g.digits(2), g.digits(6), g.digits(2)))
	},
	"DL_PLAIN": func(g *corpusGen) {
		g.b.value(DRIVER_LICENSE, fmt.Sprintf("%d%s", g.between(11, 26), g.digits(10)))
	},
	"DL_OLD": func(g *corpusGen) {
		g.b.value(DRIVER_LICENSE, fmt.Sprintf("%s %s-%s-%s", g.pick(plateRegions), g.digits(2), g.digits(6), g.digits(2)))
	},
	"PLATE": func(g *corpusGen) { g.b.value(VEHICLE, g.plate()) },
	"PLATE_GAPS": func(g *corpusGen) {
		v := []rune(g.plate())
		n := len(v) - 5
		g.b.value(VEHICLE, string(v[:n])+" "+string(v[n])+" "+string(v[n+1:]))
	},
	"PLATE_SPACED": func(g *corpusGen) {
		v := g.plate()
		g.b.value(VEHICLE, v[:len(v)-4]+" "+v[len(v)-4:])
	},
	"PLATE_REGION": func(g *corpusGen) {
		g.b.value(VEHICLE, g.pick(plateRegions)+g.digitsNZ(2)+g.pick([]string{"아", "바", "사", "자"})+g.digits(4))
	},
	"DOB":    func(g *corpusGen) { g.b.value(BIRTH_DATE, g.dob(false)) },
	"DOB_KO": func(g *corpusGen) { g.b.value(BIRTH_DATE, g.dob(g.r.IntN(2) == 0)) },
	"IPV4": func(g *corpusGen) {
		var v string
		switch g.r.IntN(3) {
		case 0:
			v = fmt.Sprintf("192.168.%d.%d", g.r.IntN(256), g.between(2, 254))
		case 1:
			v = fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), g.between(2, 254))
		default:
			v = fmt.Sprintf("%d.%d.%d.%d", g.between(11, 223), g.r.IntN(256), g.r.IntN(256), g.between(2, 254))
		}
		g.b.value(IP, v)
	},
	"IPV6": func(g *corpusGen) {
		g.b.value(IP, fmt.Sprintf("2001:db8:%x:%x::%x", g.r.IntN(0x10000), g.r.IntN(0x10000), g.between(1, 0xffff)))
	},
	"ADDR_ROAD": func(g *corpusGen) {
		road := g.pick(roadNames)
		if g.r.IntN(4) == 0 {
			road = g.pick(roadWithNumbers)
		} else if g.r.IntN(10) == 0 {
			road += " 지하"
		}
		g.b.value(ADDRESS, g.pick(adminPrefixes)+" "+road+" "+g.buildingNumber()+g.addressDetail())
	},
	"ADDR_BARE": func(g *corpusGen) {
		road := g.pick(roadNames)
		if g.r.IntN(3) == 0 {
			road = g.pick(roadWithNumbers)
		}
		g.b.value(ADDRESS, road+" "+g.buildingNumber()+g.addressDetail())
	},
	"ADDR_LOT": func(g *corpusGen) {
		num := fmt.Sprintf("%d-%d", g.between(1, 1500), g.between(1, 30))
		switch g.r.IntN(3) {
		case 0:
			num += "번지"
		case 1:
			num = "산 " + num
		}
		g.b.value(ADDRESS, g.pick(adminPrefixes)+" "+g.pick(lotPlaces)+" "+num)
	},
	"ADDR_LOT_BARE": func(g *corpusGen) {
		place := g.pick(lotPlaces[:9])
		num := fmt.Sprintf("%d-%d", g.between(1, 1500), g.between(1, 30))
		if g.r.IntN(2) == 0 {
			num += "번지"
		}
		g.b.value(ADDRESS, place+" "+num)
	},

	// Hard negatives: written as plain text.
	"ORDER": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			"ORD-" + g.digits(8) + "-" + g.digits(4), g.digits(8) + "-" + g.digits(6),
			"A" + g.digits(10), "2023" + g.digits(10), g.digits(16),
		}))
	},
	"CASE": func(g *corpusGen) {
		g.b.text(fmt.Sprintf("%d%s%d", g.between(2015, 2024), g.pick([]string{"가합", "가단", "고단", "나", "누", "구합", "도"}),
			g.between(1000, 99999)))
	},
	"CASE_OLD": func(g *corpusGen) {
		g.b.text(fmt.Sprintf("대법원 %02d%s%d", g.between(90, 99), g.pick([]string{"도", "다", "누"}), g.between(1000, 9999)))
	},
	"AMOUNT": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			fmt.Sprintf("%d,%03d,000원", g.between(1, 99), g.r.IntN(1000)),
			fmt.Sprintf("%d만원", g.between(1, 9999)),
			fmt.Sprintf("%d원", g.between(1000, 9999999)),
			fmt.Sprintf("%d억 %d천만원", g.between(1, 9), g.between(1, 9)),
		}))
	},
	"DATE": func(g *corpusGen) {
		y, m, d := g.date(2015, 2024)
		g.b.text(g.pick([]string{
			fmt.Sprintf("%d-%02d-%02d", y, m, d), fmt.Sprintf("%d.%02d.%02d.", y, m, d),
			fmt.Sprintf("%d년 %d월 %d일", y, m, d), fmt.Sprintf("%d월 %d일", m, d),
		}))
	},
	"TIME": func(g *corpusGen) { g.b.text(fmt.Sprintf("%02d:%02d", g.between(0, 23), g.r.IntN(60))) },
	"FILE": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			"scan_" + g.digits(8) + "_" + g.digits(4) + ".pdf", "IMG_" + g.digits(4) + ".JPG",
			"민원_" + fmt.Sprintf("%d-%02d-%02d", g.between(2015, 2024), g.between(1, 12), g.between(1, 28)) + ".hwp",
			"report_v2.1." + fmt.Sprint(g.between(0, 9)) + ".docx", "KakaoTalk_" + g.digits(8) + "_" + g.digits(9) + ".png",
		}))
	},
	"STATUTE": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			fmt.Sprintf("도로교통법 제%d조 제%d항", g.between(1, 160), g.between(1, 9)),
			fmt.Sprintf("법률 제%d호", g.between(10000, 19999)),
			fmt.Sprintf("시행령 제%d조의%d", g.between(1, 99), g.between(2, 5)),
		}))
	},
	"VERSION": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			fmt.Sprintf("v%d.%d.%d", g.between(1, 12), g.between(0, 30), g.between(0, 30)),
			fmt.Sprintf("버전 %d.%d.%d", g.between(1, 12), g.between(0, 30), g.between(0, 30)),
			fmt.Sprintf("버전 %d.%d.%d.%d", g.between(10, 20), g.between(0, 9), g.between(0, 30), g.between(1, 99)),
		}))
	},
	"MODEL": func(g *corpusGen) {
		g.b.text(g.pick([]string{
			"SM-G991N", "RF85B9121AP", "KR-" + g.digits(4) + "-" + g.digits(4), "65UQ9300",
			"DV" + g.digits(2) + "T" + g.digits(4), "M" + g.digits(8) + "K",
		}))
	},
	"COUNT": func(g *corpusGen) {
		g.b.text(g.pick([]string{fmt.Sprintf("%d명", g.between(2, 300)), fmt.Sprintf("%d가구", g.between(2, 300)),
			fmt.Sprintf("%d세대", g.between(2, 300))}))
	},
	"RECEIPT": func(g *corpusGen) {
		g.b.text(g.pick([]string{"1AA-" + g.digits(4) + "-" + g.digits(7), g.digits(8), "2AB" + g.digits(9)}))
	},
	"PARCEL":   func(g *corpusGen) { g.b.text(g.digits(4) + "-" + g.digits(4) + "-" + g.digits(4)) },
	"ORDER13":  func(g *corpusGen) { g.b.text(g.digitsNZ(13)) },
	"MODEL_M":  func(g *corpusGen) { g.b.text("M" + g.digits(8)) },
	"TRILLION": func(g *corpusGen) { g.b.text(fmt.Sprintf("%d조%d억원", g.between(2, 99), g.between(1000, 9999))) },
}

package pii

import "slices"

// Read-only word lists behind the Korean context rules. They are tuned on
// the sample complaints: each entry is a word that the rules would
// otherwise take for a name or an address part.

// surnameSyllables holds single-syllable surnames covering nearly all of
// the population, with their initial-sound-law variants (리, 림, 라, ...).
// Surnames that are far more common as word starts than as names (대, 아,
// 어) are left out on purpose.
const surnameSyllables = "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽" +
	"성차주우구민나진지엄채원천방공현함변염여추도소석선설마길연위표명기반" +
	"왕금옥육인맹제탁국은편용예봉경봉태피감빈범왕리림라량려로뢰룡"

// nonNameFinalSyllables end words and particles (는, 을, 에) but hardly
// ever a given name.
const nonNameFinalSyllables = "는을를에로서고던게며면와과의도만께된들님씨이가요다니히데네등때중측쪽분것" +
	"표률록액으" // 배정표, 용적률, 회의록, 금액, and 으 of the particle 으로

// particleFinals are the nonNameFinalSyllables that end a given name
// nowhere, not even in a form field: particles, and 서 of documents
// (신청서), which givenNameFinal lets pass after 민, 윤, 은, ....
const particleFinals = "는을를에의께들님씨로과와서"

// inflectionSyllables belong to verb endings and particles and occur
// nowhere in a given name: 하는말, 보았다.
const inflectionSyllables = "는을를었았겠습했됐"

// ssiNounFinalSyllables make nouns with a glued 씨: 날씨, 글씨, 솜씨,
// 마음씨, 아저씨, 이엔씨 (E&C).
const ssiNounFinalSyllables = "날글솜말불꽃볍홀맘저가음발맵몸입종결엔에쳐직일"

// titleFinalSyllables end titles used with 님: 사장님, 장관님, 변호사님,
// 선생님, 문정부님, 손님.
const titleFinalSyllables = "장관사생부손감모객배님령렁"

// deptFinalSyllables end units named before 주무관: 주택과, 국토부,
// 기계실, 센터.
const deptFinalSyllables = "과부팀국청소처단터사회계반실"

// unitFinalSyllables end the units that follow a role or title word
// (담당 재무과, 입회인 건축팀) or come before a rank (민주당 대표):
// deptFinalSyllables without 소 and 사, which also end given names (미소)
// and are covered by titleFinalSyllables, and with 당 of parties.
const unitFinalSyllables = "과부팀국청처단터회계반실당"

var personStopWords = []string{
	"하나님", "하느님", "성직자", "주인공", "조합원", "공무원", "유공자", "장애인",
	"전문가", "정치인", "연예인", "담당자", "관계자", "지도자", "주무관", "민원인",
	"이름", "성명", "주소", "주소지", "전화", "연락처", "정보", "본인", "가족",
	"자신", "전화번호", "대통령", "국회의원", "시민", "주민", "국민", "여러분",
	"부모", "이모", "고모", "선생", "사장", "원장", "대표", "고객", "이엔",
	// role words that a particle can stretch to three syllables (경찰은)
	"경찰", "경감", "경위", "경사", "순경", "검사", "판사", "기자", "직원", "의사",
	"교사", "교수", "부서", "과장", "팀장", "계장", "주임", "대리", "사원", "기관",
	"업체", "회사", "공단", "구청", "시청", "본인", "부처",
}

var provinceShortNames = []string{
	"서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종",
	"경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
}

// adminStopWords end in 시/구/면 like administrative units but are not.
var adminStopWords = []string{
	"연구", "요구", "친구", "입구", "출구", "가구", "도구", "항구", "지구", "욕구",
	"추구", "기구", "당시", "동시", "역시", "다시", "무시", "즉시", "수시", "표시",
	"감시", "도시", "항시", "임시", "개시", "게시", "지시", "제시", "혹시", "전면",
	"측면", "이면", "표면", "정면", "국면", "방면", "내면", "외면", "화면", "장면",
	"지면", "반면", "체면", "수면", "대면", "서면", "당면", "라면",
}

// roadStopWords end in 로/길 but are not road names.
var roadStopWords = []string{
	"도로", "서로", "새로", "주로", "별로", "실로", "그로", "이로", "진로", "경로",
	"통로", "선로", "항로", "활로", "퇴로", "미로", "과로", "공로", "수로", "대로",
	"따로", "바로", "날로", "절로", "홀로", "스스로", "이길", "그길", "저길", "먼길",
	"갈길", "살길", "뒷길", "앞길", "빗길", "눈길", "발길", "손길", "물길",
}

// lotStopWords end in 동/리 like neighbourhoods and villages but are not.
var lotStopWords = []string{
	"활동", "운동", "행동", "이동", "노동", "자동", "공동", "감동", "변동", "충동",
	"출동", "작동", "가동", "연동", "소동", "폭동", "난동", "선동", "발동", "진동",
	"아동", "부동", "시동", "파동", "유동", "협동", "기동", "생동", "관리", "처리",
	"논리", "정리", "수리", "무리", "거리", "다리", "머리", "자리", "소리", "요리",
	"권리", "승리", "의리", "도리", "윤리", "심리", "진리", "경리", "비리", "총리",
	"분리", "합리", "편리", "유리", "불리", "원리", "미리", "우리",
}

// plateSyllables are the purpose syllables that the plate rules (자동차
// 등록번호판 등의 기준에 관한 고시) assign: private cars 가-마, 거-저, 고-조,
// 구-주; commercial 아, 바, 사, 자; delivery 배; rental 하, 허, 호.
const plateSyllables = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"

// accountWords announce a bank account anywhere in the window before it.
var accountWords = []string{"계좌", "입금", "송금", "이체", "은행", "뱅크", "예금", "통장"}

// bankNames count as account context only right before the number,
// because most are also ordinary words or place names (국민, 우리, 하나,
// 광주). Names ending in 은행 or 뱅크 are covered by accountWords.
var bankNames = []string{
	"국민", "KB", "신한", "우리", "하나", "농협", "NH", "기업", "IBK", "카카오", "토스",
	"케이", "새마을", "새마을금고", "우체국", "SC제일", "SC", "씨티", "수협", "부산", "대구",
	"경남", "광주", "전북", "제주", "신협", "산업", "KDB", "저축",
}

// passportWords must precede a passport number.
var passportWords = []string{"여권", "passport", "Passport", "PASSPORT"}

// licenseWords let a driver's licence number without its region code or
// hyphens count.
var licenseWords = []string{"면허"}

// vehicleWords let a plate with a space before its last four digits
// (12가 3456) count.
var vehicleWords = []string{"차량", "차 번호", "차번호", "번호판", "자동차", "주차", "승용차", "택시", "트럭"}

// caseWords announce court case numbers, which look like old plates
// (99도1234).
var caseWords = []string{"사건", "법원", "판결", "선고", "판례", "대법"}

// birthLabels announce a date of birth.
var birthLabels = []string{"생년월일", "생일", "출생일", "DOB", "D.O.B", "Date of Birth", "Date of birth",
	"date of birth", "Birth", "birth"}

// phoneWords let a number without its area code count as a phone number.
var phoneWords = []string{"연락처", "전화", "휴대폰", "핸드폰", "휴대전화", "HP", "H.P", "Tel", "TEL", "tel",
	"팩스", "FAX", "Fax"}

// phoneLabels are the 번호 labels that may precede a phone number; any
// other (주문번호, 송장번호, 사건번호) names a different number.
var phoneLabels = []string{"전화번호", "폰번호", "화번호", "연락번호", "팩스번호", "대표번호", "안심번호",
	"직통번호", "내선번호", "HP번호", "회신번호", "발신번호", "수신번호", "상담번호"}

// businessWords let ten plain digits count as a business registration
// number.
var businessWords = []string{"사업자"}

// addressWords let a road or lot without administrative units count as
// an address even where its name alone is ambiguous.
var addressWords = []string{"주소", "거주지", "소재지", "도로명", "사는 곳", "거주하는"}

// roadNounStopWords end in a consonant and 로 like road names (보행로,
// 진입로) but are common nouns; see standaloneAddress.
var roadNounStopWords = []string{
	"보행로", "산책로", "등산로", "진입로", "출입로", "통학로", "통행로", "연결로", "탈출로",
	"대피로", "우회로", "교차로", "활주로", "배수로", "하수로", "고속도로", "자전거도로",
	"순환로", "비상로", "접근로", "이동로", "유통경로", "방문경로",
}

// rareSurnameSyllables are surnames too rare for the weak cues (씨, 님):
// 좌, 견, 빙, 어, 온, 승, .... They count after a strong cue, in a form
// field (성명: 좌민서), a table cell under 성명, or standing alone after a
// job title (팀장 어준혁,). Rare surnames that also start everyday words
// (대, 미, 비, 시, 수, 자, 사) are left out even there.
const rareSurnameSyllables = "간갈견계곡궁궉뇌모묵부빙섭승어엽옹온좌쾌탄팽풍호"

// personCues are the words after which official documents write a name:
// form labels, roles in a procedure, relatives, job titles and the
// sign-off words of an approval line. A cue marked compound may end a
// longer word (환경정책과장, 현장대리인, 연대보증인); the others must
// start their word, so that 공동성명 (a joint statement) is no label.
//
// 시장, 구청장, 의장 and other titles of elected office are left out: their
// holders are named in public capacity, and 시장 is also a market.
var personCues = slices.Concat(
	// Form labels.
	cues(cueLabel, cueWholeWord, "성명", "이름", "성함"),
	// Roles in a procedure, a contract or a meeting.
	cues(cueRole, cueWholeWord, "민원인", "담당", "담당자"),
	cues(cueRole, cueCompound,
		"신청인", "청구인", "제출인", "신고인", "진정인", "청원인", "대표자", "대리인", "위임인",
		"수임인", "보호자", "소유자", "예금주", "세대주", "건축주", "임대인", "임차인", "보증인",
		"입회인", "감리자", "수령인", "출장자", "보고자", "작성자", "확인자", "접수자", "기안자",
		"검토자", "결재권자", "협조자", "운전자", "대상자", "면담자", "피해자", "납부자", "의무자",
		"참석자", "참석위원", "참가자", "수신자", "학부모", "동거인", "상속인", "발언자", "사회자",
		"신고자", "요청자", "계약자", "계약상대자", "수급자", "수급권자", "매도인", "매수인", "양도인",
		"양수인", "정보주체", "요청인", "가구주", "가구원", "세대원", "영업자", "운영자", "시공자",
		"설계자", "후견인", "친권자", "고소인", "고발인", "참고인", "증인", "목격자", "가해자",
		"피의자", "채무자", "채권자", "의뢰인", "수취인", "취득자", "합격자", "수상자", "신청자",
		"추천자",
	),
	cues(cueRole, cueWholeWord, "학생", "아동", "원고", "피고", "문의"),
	cues(cueRole, cueCompound, "관련자", "책임자", "행위자"),
	// Who did what in minutes and reports; as field labels only (사회:
	// 홍길동), since alone they are everyday words.
	cues(cueRole, cueFieldOnly, "사회", "진행", "기록", "작성", "배석", "참석", "불참", "결석"),
	// Posts of a committee or council, written like roles: 간사: 홍길동.
	cues(cueRole, cueCompound, "간사"),
	cues(cueRole, cueWholeWord, "서기", "총무"),
	// Relatives.
	cues(cueFamily, cueWholeWord,
		"배우자", "자녀", "동생", "남편", "아내", "아들", "딸", "손자", "손녀",
		"부친", "모친", "장남", "장녀", "차남", "차녀",
	),
	// 부: 홍길동, 모: 김영희 in a form; alone these syllables are everyday words.
	cues(cueFamily, cueFieldOnly, "부", "모"),
	// Job titles of the public service, schools and companies.
	cues(cueTitle, cueCompound,
		"주무관", "사무관", "서기관", "전문관", "담당관", "감사관", "조사관", "주사", "주사보",
		"실무관", "연구관", "연구사", "행정관", "지도관", "팀장", "과장", "국장", "실장",
		"계장", "동장", "읍장", "면장", "소장", "센터장", "본부장", "단장", "위원",
		"위원장", "연구원", "지도사", "상담사", "복지사", "대표", "대표이사", "이사장", "회장",
		"부회장", "원장", "관장", "교장", "교감", "교사", "부장", "차장", "주임",
	),
	cues(cueTitle, cueWholeWord, "통장", "이장", "건축사", "변호사", "세무사", "법무사", "회계사", "노무사", "감정평가사"),
	// The approval line: 과장 전결 김철수.
	cues(cueSignoff, cueWholeWord, "전결", "대결"),
)

// How a cue may stand in its word.
const (
	cueWholeWord = iota // starts its word
	cueCompound         // may end a longer word: 환경정책과장
	cueFieldOnly        // starts its word and counts only as a form label, before a colon
)

// cues lists words of one kind that stand alike in their words.
func cues(kind cueKind, stands int, words ...string) []personCue {
	out := make([]personCue, len(words))
	for i, w := range words {
		out[i] = personCue{word: w, kind: kind, compound: stands == cueCompound, field: stands == cueFieldOnly}
	}
	return out
}

// rankTitleWords are the titles before which a name may stand (홍길동
// 과장님, 독고준 위원:, 김철수 팀장(031-...)): ranks of the public service
// and of organisations. Occupations (교사, 원장, 상담사) are left out: the
// word before them describes the job (기간제 교사, 유치원 원장).
var rankTitleWords = []string{
	"주무관", "사무관", "서기관", "전문관", "담당관", "감사관", "조사관", "주사", "주사보",
	"실무관", "연구관", "행정관", "지도관", "팀장", "과장", "국장", "실장", "계장", "동장",
	"읍장", "면장", "소장", "센터장", "본부장", "단장", "위원", "위원장", "대표", "대표이사",
	"이사장", "회장", "부회장", "부장", "차장", "주임", "통장", "이장",
}

// proseCueWords are the cues of complaint prose, after which a name may
// go on with a particle (민원인 홍길동은, 담당 최홍석이); after the others a
// name written after a single space must stand alone.
var proseCueWords = []string{"성명", "이름", "민원인", "담당", "담당자"}

// familyHanja mark a one-syllable relation written with its character,
// as forms do: 모(母) 홍길순, 부(父) 홍길동, 자(子).
var familyHanja = []string{"모(母)", "부(父)", "자(子)", "녀(女)", "처(妻)", "부(夫)"}

// cueNameStopWords follow cue words as often as names do: 과장 이하,
// 위원 구성원, 성명 미상.
var cueNameStopWords = []string{
	"이하", "이상", "일동", "전원", "구성원", "귀하", "서명", "날인", "미상", "없음", "해당",
	"생략", "참조", "참고", "별첨", "별지", "첨부", "본인", "불상", "기재", "공란", "상동", "동일",
	"외", "영문", "한글", "한자", "자필", "여권상", "법인명",
}

// tableNameHeadings head table columns that hold one person's name per
// row; 성명(영문) and other qualified forms count too.
var tableNameHeadings = []string{
	"성명", "이름", "성함", "대표자", "대상자", "예금주", "소유자", "신청인", "수령인",
	"한글표기", "한글명", "위원명", "대표자명", "참석자", "합격자", "수상자", "신청자",
}

// Explicit labels of registration numbers; see labelBefore. Under them a
// value counts even when its checksum or format check fails.
var (
	rrnLabels      = []string{"주민등록번호", "주민번호", "주민(법인)등록번호", "주민등록 번호"}
	frnLabels      = []string{"외국인등록번호", "외국인 등록번호"}
	businessLabels = []string{"사업자등록번호", "사업자번호", "사업자 등록번호", "사업자등록 번호", "사업자등록증 번호"}
	licenseLabels  = []string{"운전면허번호", "면허번호", "운전면허 번호", "면허 번호"}
	cardLabels     = []string{"카드번호", "카드 번호"}
)

// numberHeadings head table columns of identifiers; a heading ends in one
// of these (신청인 주민등록번호).
var numberHeadings = []struct {
	heading string
	typ     Type
}{
	{"주민등록번호", RRN}, {"주민번호", RRN}, {"외국인등록번호", FRN}, {"사업자등록번호", BUSINESS_REG},
	{"사업자번호", BUSINESS_REG}, {"여권번호", PASSPORT}, {"운전면허번호", DRIVER_LICENSE},
	{"면허번호", DRIVER_LICENSE}, {"계좌번호", ACCOUNT}, {"카드번호", CARD},
}

package semconv

import "strings"

// SQLInfo lexes a SQL statement and returns its operation (its first
// keyword, upper-cased), its target table ("" when it cannot be told), and
// the statement with every literal replaced by "?", comments removed and
// whitespace collapsed. Identifiers, keywords and placeholders ($1, ?,
// :name, @p1) are kept.
//
// The target is the name after FROM at the statement's own depth for
// SELECT and DELETE (failing that, after the first FROM of a subquery at
// any depth, as in SELECT EXISTS (SELECT … FROM t)); after INTO for
// INSERT, REPLACE and MERGE; UPDATE's table; the TABLE of CREATE, ALTER,
// DROP and TRUNCATE; the table ON which an index is created or dropped;
// the view of REFRESH MATERIALIZED VIEW.
//
// WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (body), … is
// skipped: the operation and target are those of the main statement that
// follows. When that statement's target is missing or is a CTE name, the
// target is that CTE's table (the target of its body), or else the first
// real table of any CTE body; when the CTE giving the table modifies data
// (INSERT, UPDATE, DELETE), its operation is taken too. So
// "WITH s AS (INSERT INTO subs … RETURNING id) SELECT id FROM s" is
// INSERT subs. The operation is never WITH.
//
// Double-quoted tokens are identifiers in standard SQL but strings in
// MySQL; without knowing the database, a "…" token is kept as an
// identifier where only an identifier fits (after SELECT, FROM, a '.', …)
// and replaced in value positions (after an operator, in VALUES (…) and
// IN (…) lists, after LIKE, THEN, …), so that values are never leaked.
func SQLInfo(query string) (operation, target, sanitized string) {
	var s sqlScanner
	s.src = query
	s.out.Grow(len(query))
	s.valueParen = s.parenBuf[:0]
	s.run()
	operation, target = s.result()
	return operation, target, s.out.String()
}

type tokKind uint8

const (
	tokNone    tokKind = iota
	tokWord            // identifier or keyword
	tokQuoted          // quoted identifier
	tokLiteral         // replaced by ?
	tokParam           // placeholder, kept
	tokOp              // operator characters
	tokPunct           // ( ) , ; .
)

// Statement states: what a statement's next tokens are awaited for.
const (
	stOp      = iota // waiting for the first keyword
	stFrom           // waiting for FROM at the statement's depth
	stInto           // waiting for INTO (or a table right after INSERT)
	stDDL            // CREATE/ALTER/DROP/TRUNCATE: waiting for TABLE or INDEX
	stOn             // an index: waiting for ON
	stRefresh        // REFRESH: waiting for the view's name
	stDone
)

// Name-reading states (a possibly qualified table name).
const (
	capNone  = iota
	capStart // the next name is the table
	capPart  // after a name part: a '.' continues it
	capDot   // after a '.'
)

// WITH states, for the CTE list before the main statement.
const (
	wNone = iota // no WITH
	wName        // waiting for RECURSIVE or a CTE name
	wAs          // after the name: waiting for (cols), AS [NOT] [MATERIALIZED] (
	wCols        // in the column list
	wBody        // in the body, a statement of its own
	wNext        // after a body: ',' or the main statement
	wMain        // in the main statement
)

// stmt is what is known of the statement being read (the main one or a
// CTE body).
type stmt struct {
	op     string
	target string // the table at the statement's depth
	deep   string // the first table of a subquery
	depth  int
	state  int
	reads  bool // SELECT, DELETE: the table follows FROM
}

// table is the statement's table: its own, else a subquery's.
func (st *stmt) table() string {
	if st.target != "" {
		return st.target
	}
	return st.deep
}

type cte struct{ name, op, table string }

type sqlScanner struct {
	src string
	out strings.Builder
	i   int

	space bool // whitespace or a comment since the last token written

	prevKind tokKind
	prevText string // keyword() for words, the text for other tokens
	prev2Lit bool   // the token before prev was a literal

	depth      int
	valueParen []bool // per open paren: holds a list of values
	parenBuf   [8]bool
	lastClosed bool   // the paren just closed held values (VALUES (..), (..))
	subquery   uint64 // bit d: the paren at depth d opened with SELECT

	st stmt

	capture int    // name-reading state
	capDeep bool   // the name goes to st.deep, not st.target
	name    string // the name so far

	with      int // WITH state
	withDepth int
	cteName   string
	cteAs     bool // AS seen
	ctes      []cte
}

func (s *sqlScanner) run() {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
			s.space = true
		case c == '-' && s.peek(1) == '-':
			s.skipLineComment()
		case c == '/' && s.peek(1) == '*':
			s.skipBlockComment()
		case c == '\'':
			s.skipString('\'', true)
			s.emitLiteral()
		case c == '"':
			start := s.i
			s.skipString('"', true)
			if s.doubleQuotedIsIdent() {
				s.emit(tokQuoted, s.src[start:s.i], s.src[start:s.i])
			} else {
				s.emitLiteral()
			}
		case c == '`':
			start := s.i
			s.skipString('`', false)
			s.emit(tokQuoted, s.src[start:s.i], s.src[start:s.i])
		case c == '[' && s.bracketIdent():
			start := s.i
			if j := strings.IndexByte(s.src[s.i:], ']'); j >= 0 {
				s.i += j + 1
			} else {
				s.i = len(s.src)
			}
			s.emit(tokQuoted, s.src[start:s.i], s.src[start:s.i])
		case isDigit(c) || (c == '.' && isDigit(s.peek(1))):
			s.skipNumber()
			s.emitLiteral()
		case isWordStart(c):
			start := s.i
			for s.i < len(s.src) && isWordChar(s.src[s.i]) {
				s.i++
			}
			w := s.src[start:s.i]
			// N'..', E'..', X'..', B'..' are single literals.
			if len(w) == 1 && s.peek(0) == '\'' && strings.ContainsRune("NnEeXxBb", rune(w[0])) {
				s.skipString('\'', true)
				s.emitLiteral()
				continue
			}
			s.emit(tokWord, w, keyword(w))
		case c == '$':
			s.dollar()
		case c == '?':
			s.i++
			s.emit(tokParam, "?", "?")
		case (c == ':' || c == '@') && isWordChar(s.peek(1)) && !(c == ':' && s.prevText == ":"):
			start := s.i
			s.i++
			if c == '@' && s.peek(0) == '@' {
				s.i++
			}
			for s.i < len(s.src) && isWordChar(s.src[s.i]) {
				s.i++
			}
			s.emit(tokParam, s.src[start:s.i], s.src[start:s.i])
		case c == '(' || c == ')' || c == ',' || c == ';' || c == '.':
			s.i++
			s.emit(tokPunct, s.src[s.i-1:s.i], s.src[s.i-1:s.i])
		default:
			start := s.i
			s.i++
			for s.i < len(s.src) && strings.IndexByte("=<>!+-*/%|&^~:", s.src[s.i]) >= 0 &&
				!(s.src[s.i] == '-' && s.peek(1) == '-') && !(s.src[s.i] == '/' && s.peek(1) == '*') {
				s.i++
			}
			s.emit(tokOp, s.src[start:s.i], s.src[start:s.i])
		}
	}
	if s.capture != capNone {
		s.endName()
	}
}

func (s *sqlScanner) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}
func isWordChar(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' }

func (s *sqlScanner) skipLineComment() {
	if j := strings.IndexByte(s.src[s.i:], '\n'); j >= 0 {
		s.i += j + 1
	} else {
		s.i = len(s.src)
	}
	s.space = true
}

func (s *sqlScanner) skipBlockComment() {
	if j := strings.Index(s.src[s.i+2:], "*/"); j >= 0 {
		s.i += j + 4
	} else {
		s.i = len(s.src)
	}
	s.space = true
}

// skipString skips a quoted token starting at s.i; a doubled quote is an
// escaped quote, and so is a backslash escape when backslash is true.
func (s *sqlScanner) skipString(q byte, backslash bool) {
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\' && backslash:
			s.i += 2
			continue
		case c == q:
			if s.peek(1) == q {
				s.i += 2
				continue
			}
			s.i++
			return
		}
		s.i++
	}
	s.i = len(s.src)
}

func (s *sqlScanner) skipNumber() {
	src := s.src
	if src[s.i] == '0' && (s.peek(1) == 'x' || s.peek(1) == 'X' || s.peek(1) == 'b' || s.peek(1) == 'B') {
		s.i += 2
		for s.i < len(src) && isHexDigit(src[s.i]) {
			s.i++
		}
		return
	}
	for s.i < len(src) && (isDigit(src[s.i]) || src[s.i] == '.') {
		s.i++
	}
	if s.i < len(src) && (src[s.i] == 'e' || src[s.i] == 'E') {
		j := s.i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			s.i = j
			for s.i < len(src) && isDigit(src[s.i]) {
				s.i++
			}
		}
	}
	// A number glued to letters (1abc) is still one literal.
	for s.i < len(src) && isWordChar(src[s.i]) {
		s.i++
	}
}

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// dollar handles $1 placeholders and $tag$…$tag$ strings.
func (s *sqlScanner) dollar() {
	start := s.i
	j := s.i + 1
	if j < len(s.src) && isDigit(s.src[j]) {
		for j < len(s.src) && isDigit(s.src[j]) {
			j++
		}
		s.i = j
		s.emit(tokParam, s.src[start:j], s.src[start:j])
		return
	}
	for j < len(s.src) && (isWordStart(s.src[j]) || isDigit(s.src[j])) {
		j++
	}
	if j < len(s.src) && s.src[j] == '$' {
		tag := s.src[start : j+1]
		if k := strings.Index(s.src[j+1:], tag); k >= 0 {
			s.i = j + 1 + k + len(tag)
		} else {
			s.i = len(s.src)
		}
		s.emitLiteral()
		return
	}
	s.i++
	s.emit(tokOp, "$", "$")
}

// bracketIdent tells a [name] identifier (SQL Server) from an array
// subscript: only where a name may appear.
func (s *sqlScanner) bracketIdent() bool {
	if !s.space && (s.prevKind == tokWord || s.prevKind == tokQuoted || s.prevText == ")") {
		return false // arr[1]
	}
	switch s.prevKind {
	case tokNone, tokWord, tokPunct:
		return s.prevText != ")"
	}
	return false
}

// doubleQuotedIsIdent decides whether the "…" token just skipped is an
// identifier (see SQLInfo).
func (s *sqlScanner) doubleQuotedIsIdent() bool {
	if s.peek(0) == '.' || s.prevText == "." {
		return true
	}
	if n := len(s.valueParen); n > 0 && s.valueParen[n-1] {
		return false
	}
	switch s.prevKind {
	case tokOp, tokLiteral, tokParam:
		return false
	case tokWord:
		switch s.prevText {
		case "LIKE", "ILIKE", "THEN", "ELSE", "WHEN", "VALUES", "BETWEEN", "DEFAULT",
			"LIMIT", "OFFSET", "RETURN", "ESCAPE", "REGEXP", "RLIKE", "IN", "IS":
			return false
		case "AND", "OR":
			return !s.prev2Lit
		}
	}
	return true
}

func (s *sqlScanner) emitLiteral() { s.emit(tokLiteral, "?", "") }

// emit writes a token to the output and advances the target finder.
func (s *sqlScanner) emit(kind tokKind, text, upper string) {
	if s.space && s.out.Len() > 0 {
		s.out.WriteByte(' ')
	}
	s.space = false
	s.out.WriteString(text)

	if upper == "SELECT" && s.prevText == "(" && s.depth < 64 {
		s.subquery |= 1 << s.depth
	}
	s.track(kind, text, upper)

	if kind == tokPunct {
		switch text {
		case "(":
			v := s.prevKind == tokWord && (s.prevText == "VALUES" || s.prevText == "IN" || s.prevText == "VALUE")
			v = v || (s.prevText == "," && s.lastClosed)
			v = v || (len(s.valueParen) > 0 && s.valueParen[len(s.valueParen)-1])
			s.valueParen = append(s.valueParen, v)
			s.depth++
		case ")":
			s.lastClosed = false
			if n := len(s.valueParen); n > 0 {
				s.lastClosed = s.valueParen[n-1]
				s.valueParen = s.valueParen[:n-1]
			}
			if s.depth < 64 {
				s.subquery &^= 1 << s.depth
			}
			if s.depth > 0 {
				s.depth--
			}
		}
	}
	s.prev2Lit = s.prevKind == tokLiteral
	s.prevKind, s.prevText = kind, upper
	if kind == tokPunct && text == "," {
		return // keep lastClosed across the comma
	}
	if !(kind == tokPunct && text == ")") {
		s.lastClosed = false
	}
}

// track runs the operation/target state machines on one token.
func (s *sqlScanner) track(kind tokKind, text, upper string) {
	if s.capture != capNone && s.captureName(kind, text) {
		return
	}
	switch s.with {
	case wName, wAs, wCols, wNext:
		s.trackWith(kind, text, upper)
		return
	case wBody:
		if kind == tokPunct && text == ")" && s.depth == s.withDepth+1 {
			s.ctes = append(s.ctes, cte{s.cteName, s.st.op, s.st.table()})
			s.with = wNext
			return
		}
	}
	if kind == tokWord && upper == "FROM" && s.st.reads && s.depth > s.st.depth &&
		s.st.table() == "" && s.prevText != "DISTINCT" && s.depth < 64 && s.subquery&(1<<s.depth) != 0 {
		s.startName(true) // a subquery's FROM
		return
	}
	s.trackStmt(kind, text, upper)
}

// trackWith reads the CTE list of WITH.
func (s *sqlScanner) trackWith(kind tokKind, text, upper string) {
	open := kind == tokPunct && text == "("
	switch s.with {
	case wName:
		switch {
		case upper == "RECURSIVE":
		case kind == tokWord || kind == tokQuoted:
			s.cteName, s.cteAs = unquote(kind, text), false
			s.with = wAs
		default:
			s.with, s.st.state = wMain, stDone // malformed
		}
	case wAs:
		switch {
		case open && !s.cteAs:
			s.with = wCols
		case upper == "AS" && !s.cteAs:
			s.cteAs = true
		case s.cteAs && (upper == "NOT" || upper == "MATERIALIZED"):
		case open && s.cteAs:
			s.with = wBody
			s.st = stmt{}
		default:
			s.with, s.st.state = wMain, stDone
		}
	case wCols:
		if kind == tokPunct && text == ")" && s.depth == s.withDepth+1 {
			s.with = wAs
		}
	case wNext:
		switch {
		case kind == tokPunct && text == ",":
			s.with = wName
		case open, upper == "SELECT", upper == "INSERT", upper == "UPDATE", upper == "DELETE",
			upper == "MERGE", upper == "REPLACE", upper == "VALUES":
			s.with = wMain
			s.st = stmt{}
			s.trackStmt(kind, text, upper)
		}
		// Anything else (SEARCH … SET col, CYCLE …) is skipped.
	}
}

// trackStmt finds the operation and the target of a statement.
func (s *sqlScanner) trackStmt(kind tokKind, text, upper string) {
	switch s.st.state {
	case stOp:
		if kind == tokPunct && text == "(" {
			return
		}
		if kind != tokWord {
			s.st.state = stDone
			return
		}
		if upper == "WITH" && s.with == wNone {
			s.with, s.withDepth = wName, s.depth
			return
		}
		s.st.op = upper
		if s.st.op == "" {
			s.st.op = strings.ToUpper(text)
		}
		s.st.depth = s.depth
		s.st.state = stDone
		switch upper {
		case "SELECT", "DELETE", "WITH":
			s.st.state, s.st.reads = stFrom, true
		case "INSERT", "REPLACE", "MERGE":
			s.st.state = stInto
		case "UPDATE":
			s.startName(false)
		case "CREATE", "ALTER", "DROP", "TRUNCATE":
			s.st.state = stDDL
		case "REFRESH":
			s.st.state = stRefresh
		}
	case stDDL:
		switch {
		case upper == "TABLE":
			s.startName(false)
		case upper == "INDEX":
			s.st.state = stOn
		case upper == "TEMPORARY" || upper == "TEMP" || upper == "UNLOGGED" || upper == "GLOBAL" ||
			upper == "LOCAL" || upper == "OR" || upper == "REPLACE" || upper == "UNIQUE" ||
			upper == "FULLTEXT" || upper == "SPATIAL" || upper == "CLUSTERED" || upper == "NONCLUSTERED":
		case s.st.op == "TRUNCATE" && (kind == tokWord || kind == tokQuoted): // TRUNCATE name
			s.startName(false)
			s.captureName(kind, text)
		default:
			s.st.state = stDone // a view, a database: no table
		}
	case stOn:
		if upper == "ON" && s.depth == s.st.depth {
			s.startName(false)
		}
	case stRefresh:
		switch {
		case upper == "MATERIALIZED" || upper == "VIEW" || upper == "CONCURRENTLY":
		case kind == tokWord || kind == tokQuoted:
			s.startName(false)
			s.captureName(kind, text)
		default:
			s.st.state = stDone
		}
	case stFrom:
		if kind == tokWord && upper == "FROM" && s.depth == s.st.depth && s.prevText != "DISTINCT" {
			s.startName(false)
		}
	case stInto:
		if kind != tokWord && kind != tokQuoted {
			s.st.state = stDone
			return
		}
		switch upper {
		case "INTO":
			s.startName(false)
		case "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "OR":
		case "ROLLBACK", "ABORT", "FAIL": // SQLite: INSERT OR REPLACE INTO …
		default:
			if s.st.op == "INSERT" && upper == "REPLACE" {
				return
			}
			s.startName(false)
			s.captureName(kind, text)
		}
	}
}

// startName starts reading a table name, for st.deep when deep is true,
// else for st.target (the statement then awaits nothing more).
func (s *sqlScanner) startName(deep bool) {
	s.capture, s.capDeep, s.name = capStart, deep, ""
	if !deep {
		s.st.state = stDone
	}
}

// captureName feeds a token to the name being read; it returns false
// when the token is not part of it (the name is then complete).
func (s *sqlScanner) captureName(kind tokKind, text string) bool {
	name := kind == tokWord || kind == tokQuoted
	switch s.capture {
	case capStart:
		switch keyword(text) {
		case "ONLY", "LOW_PRIORITY", "IGNORE", "QUICK", "LATERAL", "TABLE", "IF", "NOT", "EXISTS":
			return true
		}
		if name {
			s.name = unquote(kind, text)
			s.capture = capPart
			return true
		}
	case capPart:
		if kind == tokPunct && text == "." {
			s.capture = capDot
			return true
		}
	case capDot:
		if name {
			s.name += "." + unquote(kind, text)
			s.capture = capPart
			return true
		}
		s.name = ""
	}
	s.endName()
	return false
}

// endName stores the name read; a keyword where a name was expected means
// there is no plain table (e.g. "SELECT 1 FROM (SELECT …)").
func (s *sqlScanner) endName() {
	name := s.name
	if s.capture == capDot {
		name = ""
	}
	s.capture, s.name = capNone, ""
	switch keyword(name) {
	case "SELECT", "WHERE", "SET", "VALUES", "DUAL":
		name = ""
	}
	if s.capDeep {
		s.st.deep = name
	} else {
		s.st.target = name
	}
}

// unquote strips the quotes of "x", `x` and [x]; an unterminated quote
// gives no name.
func unquote(kind tokKind, text string) string {
	if kind != tokQuoted {
		return text
	}
	if len(text) < 2 {
		return ""
	}
	end := text[0]
	if end == '[' {
		end = ']'
	}
	if text[len(text)-1] != end {
		return ""
	}
	return text[1 : len(text)-1]
}

// result returns the operation and the target, resolving CTE names (see
// SQLInfo).
func (s *sqlScanner) result() (op, target string) {
	op, target = s.st.op, s.st.table()
	if s.with == wNone {
		return op, target
	}
	if s.with != wMain || op == "" || op == "WITH" {
		return "", ""
	}
	real := func(t string) bool { return t != "" && s.cteNamed(t) < 0 }
	if real(target) {
		return op, target
	}
	c := s.cteNamed(target)
	if c < 0 || !real(s.ctes[c].table) {
		c = -1
		for i := range s.ctes {
			if real(s.ctes[i].table) {
				c = i
				break
			}
		}
	}
	if c < 0 {
		return op, ""
	}
	switch s.ctes[c].op {
	case "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE":
		op = s.ctes[c].op
	}
	return op, s.ctes[c].table
}

// cteNamed returns the index of the CTE called name (ASCII letters
// folded, as SQL folds unquoted names), or -1.
func (s *sqlScanner) cteNamed(name string) int {
	for i := range s.ctes {
		if asciiEqualFold(s.ctes[i].name, name) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// keywords are the words the scanner reacts to.
var keywords = [...]string{
	"SELECT", "DELETE", "WITH", "INSERT", "REPLACE", "UPDATE", "FROM", "INTO",
	"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "OR", "ROLLBACK",
	"ABORT", "FAIL", "ONLY", "QUICK", "LATERAL", "TABLE", "LIKE", "ILIKE",
	"THEN", "ELSE", "WHEN", "VALUES", "VALUE", "BETWEEN", "DEFAULT", "LIMIT",
	"OFFSET", "RETURN", "ESCAPE", "REGEXP", "RLIKE", "IN", "IS", "AND",
	"CREATE", "ALTER", "DROP", "TRUNCATE", "TEMPORARY", "TEMP", "UNLOGGED", "GLOBAL",
	"LOCAL", "IF", "NOT", "EXISTS", "MERGE", "REFRESH", "INDEX", "ON", "UNIQUE",
	"FULLTEXT", "SPATIAL", "CLUSTERED", "NONCLUSTERED", "MATERIALIZED", "VIEW",
	"CONCURRENTLY", "RECURSIVE", "AS", "DISTINCT", "DUAL", "SET", "WHERE",
}

// keywordIndex lists keywords by lower-cased first letter and length.
var keywordIndex = func() (idx [26][14][]string) {
	for _, k := range keywords {
		c := k[0] | 0x20
		idx[c-'a'][len(k)] = append(idx[c-'a'][len(k)], k)
	}
	return idx
}()

// keyword returns the upper-case keyword w spells, or "" if w is not one
// of keywords; it does not allocate.
func keyword(w string) string {
	if len(w) < 2 || len(w) > 13 {
		return ""
	}
	c := w[0] | 0x20
	if c < 'a' || c > 'z' {
		return ""
	}
	for _, k := range keywordIndex[c-'a'][len(w)] {
		if strings.EqualFold(k, w) {
			return k
		}
	}
	return ""
}

package semconv

import "strings"

// SQLInfo lexes a SQL statement and returns its operation (the first
// keyword, upper-cased), its target table (after FROM for SELECT, DELETE
// and WITH; INTO for INSERT and REPLACE; UPDATE's table; the TABLE of
// CREATE, ALTER, DROP and TRUNCATE; "" when it cannot be told), and the statement with every literal replaced by "?",
// comments removed and whitespace collapsed. Identifiers, keywords and
// placeholders ($1, ?, :name, @p1) are kept.
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
	return s.op, s.target.String(), s.out.String()
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

// Target-finding states.
const (
	stOp        = iota // waiting for the first keyword
	stFrom             // waiting for FROM at the statement's depth
	stInto             // waiting for INTO (or a table right after INSERT)
	stDDL              // CREATE/ALTER/DROP/TRUNCATE: waiting for TABLE
	stTable            // the next name is the target
	stTableDot         // inside a qualified name, after a '.'
	stTableName        // after a name part: a '.' continues it
	stDone
)

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
	lastClosed bool // the paren just closed held values (VALUES (..), (..))

	state   int
	opDepth int
	op      string
	target  strings.Builder
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
	if s.state == stTableName || s.state == stTableDot {
		s.finishTarget()
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

// track runs the operation/target state machine on one token.
func (s *sqlScanner) track(kind tokKind, text, upper string) {
	switch s.state {
	case stOp:
		if kind == tokPunct && text == "(" {
			return
		}
		if kind != tokWord {
			s.state = stDone
			return
		}
		s.op = upper
		if s.op == "" {
			s.op = strings.ToUpper(text)
		}
		s.opDepth = s.depth
		switch upper {
		case "SELECT", "DELETE", "WITH":
			s.state = stFrom
		case "INSERT", "REPLACE":
			s.state = stInto
		case "UPDATE":
			s.state = stTable
		case "CREATE", "ALTER", "DROP", "TRUNCATE":
			s.state = stDDL
		default:
			s.state = stDone
		}
	case stDDL:
		switch {
		case kind == tokWord && upper == "TABLE":
			s.state = stTable
		case kind == tokWord && (upper == "TEMPORARY" || upper == "TEMP" || upper == "UNLOGGED" ||
			upper == "GLOBAL" || upper == "LOCAL" || upper == "OR" || upper == "REPLACE"):
		case s.op == "TRUNCATE" && (kind == tokWord || kind == tokQuoted): // TRUNCATE name
			s.state = stTable
			s.track(kind, text, upper)
		default:
			s.state = stDone // an index, a view, a database: no table
		}
	case stFrom:
		if kind == tokWord && upper == "FROM" && s.depth == s.opDepth {
			s.state = stTable
		}
	case stInto:
		if kind != tokWord && kind != tokQuoted {
			s.state = stDone
			return
		}
		switch upper {
		case "INTO":
			s.state = stTable
		case "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "OR":
		case "ROLLBACK", "ABORT", "FAIL": // SQLite: INSERT OR REPLACE INTO …
		default:
			if s.op == "INSERT" && upper == "REPLACE" {
				return
			}
			s.state = stTable
			s.track(kind, text, upper)
		}
	case stTable:
		switch {
		case kind == tokWord && (upper == "ONLY" || upper == "LOW_PRIORITY" || upper == "IGNORE" ||
			upper == "QUICK" || upper == "LATERAL" || upper == "TABLE" || upper == "IF" || upper == "NOT" || upper == "EXISTS"):
		case kind == tokWord || kind == tokQuoted:
			s.addTargetPart(kind, text)
			s.state = stTableName
		default:
			s.state = stDone
		}
	case stTableName:
		if kind == tokPunct && text == "." {
			s.target.WriteByte('.')
			s.state = stTableDot
			return
		}
		s.finishTarget()
	case stTableDot:
		if kind == tokWord || kind == tokQuoted {
			s.addTargetPart(kind, text)
			s.state = stTableName
			return
		}
		s.target.Reset()
		s.state = stDone
	}
}

func (s *sqlScanner) addTargetPart(kind tokKind, text string) {
	if kind == tokQuoted && len(text) >= 2 {
		text = text[1 : len(text)-1] // "x", `x`, [x]
	}
	s.target.WriteString(text)
}

// finishTarget ends the name; a keyword where a name was expected means
// there is no plain table (e.g. "SELECT 1 FROM (SELECT …)").
func (s *sqlScanner) finishTarget() {
	s.state = stDone
	switch strings.ToUpper(s.target.String()) {
	case "SELECT", "WHERE", "SET", "VALUES", "DUAL":
		s.target.Reset()
	}
}

// keywords are the words the scanner reacts to.
var keywords = [...]string{
	"SELECT", "DELETE", "WITH", "INSERT", "REPLACE", "UPDATE", "FROM", "INTO",
	"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "OR", "ROLLBACK",
	"ABORT", "FAIL", "ONLY", "QUICK", "LATERAL", "TABLE", "LIKE", "ILIKE",
	"THEN", "ELSE", "WHEN", "VALUES", "VALUE", "BETWEEN", "DEFAULT", "LIMIT",
	"OFFSET", "RETURN", "ESCAPE", "REGEXP", "RLIKE", "IN", "IS", "AND",
	"CREATE", "ALTER", "DROP", "TRUNCATE", "TEMPORARY", "TEMP", "UNLOGGED", "GLOBAL",
	"LOCAL", "IF", "NOT", "EXISTS",
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

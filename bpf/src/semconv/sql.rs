//! `db.operation.name`, `db.collection.name` and `db.query.text` from a SQL
//! statement: a line-by-line port of the Go runtime's
//! `runtime/weft/internal/semconv/sql.go` (`SQLInfo`), so eBPF spans and
//! woven spans name and sanitize queries identically; the test cases are
//! the Go tests' own. Hand-written because it must match that lexer exactly.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    None,
    Word,
    Quoted,
    Literal,
    Param,
    Op,
    Punct,
}

/// Statement states: what a statement's next tokens are awaited for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Op,
    From,
    Into,
    Ddl,
    On,
    Refresh,
    Done,
}

/// Name-reading states (a possibly qualified table name).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cap {
    None,
    Start,
    Part,
    Dot,
}

/// WITH states, for the CTE list before the main statement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum W {
    None,
    Name,
    As,
    Cols,
    Body,
    Next,
    Main,
}

/// What is known of the statement being read (the main one or a CTE body).
struct Stmt {
    op: String,
    target: String,
    deep: String,
    depth: usize,
    state: St,
    reads: bool,
}

impl Stmt {
    fn new() -> Stmt {
        Stmt { op: String::new(), target: String::new(), deep: String::new(), depth: 0, state: St::Op, reads: false }
    }

    /// The statement's table: its own, else a subquery's.
    fn table(&self) -> &str {
        if self.target.is_empty() {
            &self.deep
        } else {
            &self.target
        }
    }
}

struct Cte {
    name: String,
    op: String,
    table: String,
}

const KEYWORDS: &[&str] = &[
    "SELECT", "DELETE", "WITH", "INSERT", "REPLACE", "UPDATE", "FROM", "INTO", "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY",
    "IGNORE", "OR", "ROLLBACK", "ABORT", "FAIL", "ONLY", "QUICK", "LATERAL", "TABLE", "LIKE", "ILIKE", "THEN", "ELSE",
    "WHEN", "VALUES", "VALUE", "BETWEEN", "DEFAULT", "LIMIT", "OFFSET", "RETURN", "ESCAPE", "REGEXP", "RLIKE", "IN",
    "IS", "AND", "CREATE", "ALTER", "DROP", "TRUNCATE", "TEMPORARY", "TEMP", "UNLOGGED", "GLOBAL", "LOCAL", "IF", "NOT",
    "EXISTS", "MERGE", "REFRESH", "INDEX", "ON", "UNIQUE", "FULLTEXT", "SPATIAL", "CLUSTERED", "NONCLUSTERED",
    "MATERIALIZED", "VIEW", "CONCURRENTLY", "RECURSIVE", "AS", "DISTINCT", "DUAL", "SET", "WHERE",
];

fn keyword(w: &str) -> &'static str {
    KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(w)).copied().unwrap_or("")
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}
fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}
fn is_word_char(c: u8) -> bool {
    is_word_start(c) || is_digit(c) || c == b'$'
}

struct Scanner<'a> {
    src: &'a str,
    b: &'a [u8],
    out: String,
    i: usize,
    space: bool,
    prev_kind: Tok,
    prev_text: String,
    prev2_lit: bool,
    depth: usize,
    value_paren: Vec<bool>,
    last_closed: bool,
    subquery: u64,
    st: Stmt,
    capture: Cap,
    cap_deep: bool,
    name: String,
    with: W,
    with_depth: usize,
    cte_name: String,
    cte_as: bool,
    ctes: Vec<Cte>,
}

/// (operation, target, sanitized) — see the module doc.
pub fn sql_info(query: &str) -> (String, String, String) {
    let mut s = Scanner {
        src: query,
        b: query.as_bytes(),
        out: String::with_capacity(query.len()),
        i: 0,
        space: false,
        prev_kind: Tok::None,
        prev_text: String::new(),
        prev2_lit: false,
        depth: 0,
        value_paren: Vec::new(),
        last_closed: false,
        subquery: 0,
        st: Stmt::new(),
        capture: Cap::None,
        cap_deep: false,
        name: String::new(),
        with: W::None,
        with_depth: 0,
        cte_name: String::new(),
        cte_as: false,
        ctes: Vec::new(),
    };
    s.run();
    let (op, target) = s.result();
    (op, target, s.out)
}

impl<'a> Scanner<'a> {
    fn peek(&self, n: usize) -> u8 {
        *self.b.get(self.i + n).unwrap_or(&0)
    }

    /// The source between two byte offsets (offsets always fall on ASCII
    /// bytes or the ends, so this never splits a character).
    fn text(&self, a: usize, b: usize) -> &'a str {
        self.src.get(a..b).unwrap_or("")
    }

    fn run(&mut self) {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b => {
                    self.i += 1;
                    self.space = true;
                }
                b'-' if self.peek(1) == b'-' => self.skip_line_comment(),
                b'/' if self.peek(1) == b'*' => self.skip_block_comment(),
                b'\'' => {
                    self.skip_string(b'\'', true);
                    self.emit_literal();
                }
                b'"' => {
                    let start = self.i;
                    self.skip_string(b'"', true);
                    if self.double_quoted_is_ident() {
                        let t = self.text(start, self.i);
                        self.emit(Tok::Quoted, t, t);
                    } else {
                        self.emit_literal();
                    }
                }
                b'`' => {
                    let start = self.i;
                    self.skip_string(b'`', false);
                    let t = self.text(start, self.i);
                    self.emit(Tok::Quoted, t, t);
                }
                b'[' if self.bracket_ident() => {
                    let start = self.i;
                    match self.b[self.i..].iter().position(|&x| x == b']') {
                        Some(j) => self.i += j + 1,
                        None => self.i = self.b.len(),
                    }
                    let t = self.text(start, self.i);
                    self.emit(Tok::Quoted, t, t);
                }
                _ if is_digit(c) || (c == b'.' && is_digit(self.peek(1))) => {
                    self.skip_number();
                    self.emit_literal();
                }
                _ if is_word_start(c) => {
                    let start = self.i;
                    while self.i < self.b.len() && is_word_char(self.b[self.i]) {
                        self.i += 1;
                    }
                    let w = self.text(start, self.i);
                    if w.len() == 1 && self.peek(0) == b'\'' && b"NnEeXxBb".contains(&w.as_bytes()[0]) {
                        self.skip_string(b'\'', true);
                        self.emit_literal();
                        continue;
                    }
                    self.emit(Tok::Word, w, keyword(w));
                }
                b'$' => self.dollar(),
                b'?' => {
                    self.i += 1;
                    self.emit(Tok::Param, "?", "?");
                }
                b':' | b'@' if is_word_char(self.peek(1)) && !(c == b':' && self.prev_text == ":") => {
                    let start = self.i;
                    self.i += 1;
                    if c == b'@' && self.peek(0) == b'@' {
                        self.i += 1;
                    }
                    while self.i < self.b.len() && is_word_char(self.b[self.i]) {
                        self.i += 1;
                    }
                    let t = self.text(start, self.i);
                    self.emit(Tok::Param, t, t);
                }
                b'(' | b')' | b',' | b';' | b'.' => {
                    self.i += 1;
                    let t = self.text(self.i - 1, self.i);
                    self.emit(Tok::Punct, t, t);
                }
                _ => {
                    let start = self.i;
                    self.i += 1;
                    // A non-ASCII byte here cannot happen (word start), but keep char boundaries safe.
                    while self.i < self.b.len()
                        && b"=<>!+-*/%|&^~:".contains(&self.b[self.i])
                        && !(self.b[self.i] == b'-' && self.peek(1) == b'-')
                        && !(self.b[self.i] == b'/' && self.peek(1) == b'*')
                    {
                        self.i += 1;
                    }
                    let t = self.text(start, self.i);
                    self.emit(Tok::Op, t, t);
                }
            }
        }
        if self.capture != Cap::None {
            self.end_name();
        }
    }

    fn skip_line_comment(&mut self) {
        match self.b[self.i..].iter().position(|&x| x == b'\n') {
            Some(j) => self.i += j + 1,
            None => self.i = self.b.len(),
        }
        self.space = true;
    }

    fn skip_block_comment(&mut self) {
        match self.src.get(self.i + 2..).and_then(|r| r.find("*/")) {
            Some(j) => self.i += j + 4,
            None => self.i = self.b.len(),
        }
        self.space = true;
    }

    fn skip_string(&mut self, q: u8, backslash: bool) {
        self.i += 1;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if c == b'\\' && backslash {
                self.i += 2;
                continue;
            }
            if c == q {
                if self.peek(1) == q {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return;
            }
            self.i += 1;
        }
        self.i = self.b.len();
    }

    fn skip_number(&mut self) {
        let b = self.b;
        if b[self.i] == b'0' && matches!(self.peek(1), b'x' | b'X' | b'b' | b'B') {
            self.i += 2;
            while self.i < b.len() && b[self.i].is_ascii_hexdigit() {
                self.i += 1;
            }
            return;
        }
        while self.i < b.len() && (is_digit(b[self.i]) || b[self.i] == b'.') {
            self.i += 1;
        }
        if self.i < b.len() && (b[self.i] == b'e' || b[self.i] == b'E') {
            let mut j = self.i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && is_digit(b[j]) {
                self.i = j;
                while self.i < b.len() && is_digit(b[self.i]) {
                    self.i += 1;
                }
            }
        }
        while self.i < b.len() && is_word_char(b[self.i]) {
            self.i += 1;
        }
    }

    fn dollar(&mut self) {
        let start = self.i;
        let b = self.b;
        let mut j = self.i + 1;
        if j < b.len() && is_digit(b[j]) {
            while j < b.len() && is_digit(b[j]) {
                j += 1;
            }
            self.i = j;
            let t = self.text(start, j);
            self.emit(Tok::Param, t, t);
            return;
        }
        while j < b.len() && (is_word_start(b[j]) || is_digit(b[j])) {
            j += 1;
        }
        if j < b.len() && b[j] == b'$' {
            let tag = self.text(start, j + 1);
            match self.src.get(j + 1..).and_then(|r| r.find(tag)) {
                Some(k) => self.i = j + 1 + k + tag.len(),
                None => self.i = b.len(),
            }
            self.emit_literal();
            return;
        }
        self.i += 1;
        self.emit(Tok::Op, "$", "$");
    }

    fn bracket_ident(&self) -> bool {
        if !self.space && (self.prev_kind == Tok::Word || self.prev_kind == Tok::Quoted || self.prev_text == ")") {
            return false;
        }
        match self.prev_kind {
            Tok::None | Tok::Word | Tok::Punct => self.prev_text != ")",
            _ => false,
        }
    }

    fn double_quoted_is_ident(&self) -> bool {
        if self.peek(0) == b'.' || self.prev_text == "." {
            return true;
        }
        if let Some(&v) = self.value_paren.last() {
            if v {
                return false;
            }
        }
        match self.prev_kind {
            Tok::Op | Tok::Literal | Tok::Param => false,
            Tok::Word => match self.prev_text.as_str() {
                "LIKE" | "ILIKE" | "THEN" | "ELSE" | "WHEN" | "VALUES" | "BETWEEN" | "DEFAULT" | "LIMIT" | "OFFSET"
                | "RETURN" | "ESCAPE" | "REGEXP" | "RLIKE" | "IN" | "IS" => false,
                "AND" | "OR" => !self.prev2_lit,
                _ => true,
            },
            _ => true,
        }
    }

    fn emit_literal(&mut self) {
        self.emit(Tok::Literal, "?", "");
    }

    fn emit(&mut self, kind: Tok, text: &str, upper: &str) {
        if self.space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.space = false;
        self.out.push_str(text);
        if upper == "SELECT" && self.prev_text == "(" && self.depth < 64 {
            self.subquery |= 1 << self.depth;
        }
        self.track(kind, text, upper);
        if kind == Tok::Punct {
            match text {
                "(" => {
                    let mut v = self.prev_kind == Tok::Word && matches!(self.prev_text.as_str(), "VALUES" | "IN" | "VALUE");
                    v = v || (self.prev_text == "," && self.last_closed);
                    v = v || self.value_paren.last().copied().unwrap_or(false);
                    self.value_paren.push(v);
                    self.depth += 1;
                }
                ")" => {
                    self.last_closed = self.value_paren.pop().unwrap_or(false);
                    if self.depth < 64 {
                        self.subquery &= !(1 << self.depth);
                    }
                    self.depth = self.depth.saturating_sub(1);
                }
                _ => {}
            }
        }
        self.prev2_lit = self.prev_kind == Tok::Literal;
        self.prev_kind = kind;
        self.prev_text = upper.to_string();
        if kind == Tok::Punct && text == "," {
            return;
        }
        if !(kind == Tok::Punct && text == ")") {
            self.last_closed = false;
        }
    }

    /// Runs the operation/target state machines on one token.
    fn track(&mut self, kind: Tok, text: &str, upper: &str) {
        if self.capture != Cap::None && self.capture_name(kind, text) {
            return;
        }
        match self.with {
            W::Name | W::As | W::Cols | W::Next => {
                self.track_with(kind, text, upper);
                return;
            }
            W::Body if kind == Tok::Punct && text == ")" && self.depth == self.with_depth + 1 => {
                let table = self.st.table().to_string();
                self.ctes.push(Cte { name: self.cte_name.clone(), op: self.st.op.clone(), table });
                self.with = W::Next;
                return;
            }
            _ => {}
        }
        if kind == Tok::Word
            && upper == "FROM"
            && self.st.reads
            && self.depth > self.st.depth
            && self.st.table().is_empty()
            && self.prev_text != "DISTINCT"
            && self.depth < 64
            && self.subquery & (1 << self.depth) != 0
        {
            self.start_name(true); // a subquery's FROM
            return;
        }
        self.track_stmt(kind, text, upper);
    }

    /// Reads the CTE list of WITH.
    fn track_with(&mut self, kind: Tok, text: &str, upper: &str) {
        let open = kind == Tok::Punct && text == "(";
        match self.with {
            W::Name => match () {
                _ if upper == "RECURSIVE" => {}
                _ if kind == Tok::Word || kind == Tok::Quoted => {
                    self.cte_name = unquote(kind, text).to_string();
                    self.cte_as = false;
                    self.with = W::As;
                }
                _ => {
                    self.with = W::Main; // malformed
                    self.st.state = St::Done;
                }
            },
            W::As => match () {
                _ if open && !self.cte_as => self.with = W::Cols,
                _ if upper == "AS" && !self.cte_as => self.cte_as = true,
                _ if self.cte_as && matches!(upper, "NOT" | "MATERIALIZED") => {}
                _ if open && self.cte_as => {
                    self.with = W::Body;
                    self.st = Stmt::new();
                }
                _ => {
                    self.with = W::Main;
                    self.st.state = St::Done;
                }
            },
            W::Cols => {
                if kind == Tok::Punct && text == ")" && self.depth == self.with_depth + 1 {
                    self.with = W::As;
                }
            }
            W::Next => {
                if kind == Tok::Punct && text == "," {
                    self.with = W::Name;
                } else if open || matches!(upper, "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE" | "VALUES") {
                    self.with = W::Main;
                    self.st = Stmt::new();
                    self.track_stmt(kind, text, upper);
                }
                // Anything else (SEARCH … SET col, CYCLE …) is skipped.
            }
            W::None | W::Body | W::Main => {}
        }
    }

    /// Finds the operation and the target of a statement.
    fn track_stmt(&mut self, kind: Tok, text: &str, upper: &str) {
        match self.st.state {
            St::Op => {
                if kind == Tok::Punct && text == "(" {
                    return;
                }
                if kind != Tok::Word {
                    self.st.state = St::Done;
                    return;
                }
                if upper == "WITH" && self.with == W::None {
                    self.with = W::Name;
                    self.with_depth = self.depth;
                    return;
                }
                self.st.op = if upper.is_empty() { text.to_uppercase() } else { upper.to_string() };
                self.st.depth = self.depth;
                self.st.state = St::Done;
                match upper {
                    "SELECT" | "DELETE" | "WITH" => {
                        self.st.state = St::From;
                        self.st.reads = true;
                    }
                    "INSERT" | "REPLACE" | "MERGE" => self.st.state = St::Into,
                    "UPDATE" => self.start_name(false),
                    "CREATE" | "ALTER" | "DROP" | "TRUNCATE" => self.st.state = St::Ddl,
                    "REFRESH" => self.st.state = St::Refresh,
                    _ => {}
                }
            }
            St::Ddl => match () {
                _ if upper == "TABLE" => self.start_name(false),
                _ if upper == "INDEX" => self.st.state = St::On,
                _ if matches!(
                    upper,
                    "TEMPORARY" | "TEMP" | "UNLOGGED" | "GLOBAL" | "LOCAL" | "OR" | "REPLACE" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "CLUSTERED" | "NONCLUSTERED"
                ) => {}
                // TRUNCATE name
                _ if self.st.op == "TRUNCATE" && (kind == Tok::Word || kind == Tok::Quoted) => {
                    self.start_name(false);
                    self.capture_name(kind, text);
                }
                _ => self.st.state = St::Done, // a view, a database: no table
            },
            St::On => {
                if upper == "ON" && self.depth == self.st.depth {
                    self.start_name(false);
                }
            }
            St::Refresh => match () {
                _ if matches!(upper, "MATERIALIZED" | "VIEW" | "CONCURRENTLY") => {}
                _ if kind == Tok::Word || kind == Tok::Quoted => {
                    self.start_name(false);
                    self.capture_name(kind, text);
                }
                _ => self.st.state = St::Done,
            },
            St::From => {
                if kind == Tok::Word && upper == "FROM" && self.depth == self.st.depth && self.prev_text != "DISTINCT" {
                    self.start_name(false);
                }
            }
            St::Into => {
                if kind != Tok::Word && kind != Tok::Quoted {
                    self.st.state = St::Done;
                    return;
                }
                match upper {
                    "INTO" => self.start_name(false),
                    "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" | "OR" | "ROLLBACK" | "ABORT" | "FAIL" => {}
                    _ => {
                        if self.st.op == "INSERT" && upper == "REPLACE" {
                            return;
                        }
                        self.start_name(false);
                        self.capture_name(kind, text);
                    }
                }
            }
            St::Done => {}
        }
    }

    /// Starts reading a table name, for st.deep when deep is true, else for
    /// st.target (the statement then awaits nothing more).
    fn start_name(&mut self, deep: bool) {
        self.capture = Cap::Start;
        self.cap_deep = deep;
        self.name.clear();
        if !deep {
            self.st.state = St::Done;
        }
    }

    /// Feeds a token to the name being read; false when the token is not
    /// part of it (the name is then complete).
    fn capture_name(&mut self, kind: Tok, text: &str) -> bool {
        let name = kind == Tok::Word || kind == Tok::Quoted;
        match self.capture {
            Cap::Start => {
                if matches!(keyword(text), "ONLY" | "LOW_PRIORITY" | "IGNORE" | "QUICK" | "LATERAL" | "TABLE" | "IF" | "NOT" | "EXISTS") {
                    return true;
                }
                if name {
                    self.name = unquote(kind, text).to_string();
                    self.capture = Cap::Part;
                    return true;
                }
            }
            Cap::Part => {
                if kind == Tok::Punct && text == "." {
                    self.capture = Cap::Dot;
                    return true;
                }
            }
            Cap::Dot => {
                if name {
                    self.name.push('.');
                    self.name.push_str(unquote(kind, text));
                    self.capture = Cap::Part;
                    return true;
                }
                self.name.clear();
            }
            Cap::None => {}
        }
        self.end_name();
        false
    }

    /// Stores the name read; a keyword where a name was expected means there
    /// is no plain table (e.g. "SELECT 1 FROM (SELECT …)").
    fn end_name(&mut self) {
        let mut name = std::mem::take(&mut self.name);
        if self.capture == Cap::Dot {
            name.clear();
        }
        self.capture = Cap::None;
        if matches!(keyword(&name), "SELECT" | "WHERE" | "SET" | "VALUES" | "DUAL") {
            name.clear();
        }
        if self.cap_deep {
            self.st.deep = name;
        } else {
            self.st.target = name;
        }
    }

    /// The operation and the target, with CTE names resolved (see the Go
    /// SQLInfo).
    fn result(&self) -> (String, String) {
        let (op, target) = (self.st.op.clone(), self.st.table().to_string());
        if self.with == W::None {
            return (op, target);
        }
        if self.with != W::Main || op.is_empty() || op == "WITH" {
            return (String::new(), String::new());
        }
        let real = |t: &str| !t.is_empty() && self.cte_named(t).is_none();
        if real(&target) {
            return (op, target);
        }
        let c = self.cte_named(&target).filter(|&i| real(&self.ctes[i].table)).or_else(|| self.ctes.iter().position(|c| real(&c.table)));
        let Some(c) = c.map(|i| &self.ctes[i]) else {
            return (op, String::new());
        };
        let op = if matches!(c.op.as_str(), "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE") { c.op.clone() } else { op };
        (op, c.table.clone())
    }

    /// The index of the CTE called name (ASCII case folded).
    fn cte_named(&self, name: &str) -> Option<usize> {
        self.ctes.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Strips the quotes of "x", `x` and [x]; an unterminated quote gives no
/// name.
fn unquote<'t>(kind: Tok, text: &'t str) -> &'t str {
    if kind != Tok::Quoted {
        return text;
    }
    let b = text.as_bytes();
    if b.len() < 2 {
        return "";
    }
    let end = if b[0] == b'[' { b']' } else { b[0] };
    if b[b.len() - 1] != end {
        return "";
    }
    &text[1..text.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::sql_info;

    #[test]
    fn matches_the_go_runtime() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("SELECT * FROM orders WHERE id = 42", "SELECT", "orders", "SELECT * FROM orders WHERE id = ?"),
            ("select a, b from shop.orders o join users u on o.uid = u.id where u.name = 'bob'", "SELECT", "shop.orders",
                "select a, b from shop.orders o join users u on o.uid = u.id where u.name = ?"),
            ("  \n\tSELECT 1", "SELECT", "", "SELECT ?"),
            ("INSERT INTO users (name, age) VALUES ('it''s', 3.5e10), ('x\\'y', -7)", "INSERT", "users",
                "INSERT INTO users (name, age) VALUES (?, ?), (?, -?)"),
            ("insert ignore into `db`.`t` set a=1", "INSERT", "db.t", "insert ignore into `db`.`t` set a=?"),
            ("INSERT t (a) VALUES (?)", "INSERT", "t", "INSERT t (a) VALUES (?)"),
            ("INSERT OR REPLACE INTO kv VALUES ($1, $2)", "INSERT", "kv", "INSERT OR REPLACE INTO kv VALUES ($1, $2)"),
            ("REPLACE INTO cache VALUES (0x1F, X'ab', b'01')", "REPLACE", "cache", "REPLACE INTO cache VALUES (?, ?, ?)"),
            ("UPDATE LOW_PRIORITY accounts SET balance = balance - 10.5 WHERE id = :id", "UPDATE", "accounts",
                "UPDATE LOW_PRIORITY accounts SET balance = balance - ? WHERE id = :id"),
            ("DELETE FROM sessions WHERE expires < NOW() -- cleanup 'x'\n AND user_id=@p1", "DELETE", "sessions",
                "DELETE FROM sessions WHERE expires < NOW() AND user_id=@p1"),
            ("/* app=web */ SELECT /*+ hint */ name FROM \"Users\" WHERE \"Users\".\"id\" = $1", "SELECT", "Users",
                "SELECT name FROM \"Users\" WHERE \"Users\".\"id\" = $1"),
            ("SELECT * FROM t WHERE name = \"bob\" AND x IN (\"a\", \"b\")", "SELECT", "t", "SELECT * FROM t WHERE name = ? AND x IN (?, ?)"),
            ("SELECT * FROM (SELECT id FROM inner_t) AS sub", "SELECT", "inner_t", "SELECT * FROM (SELECT id FROM inner_t) AS sub"),
            ("SELECT (SELECT max(x) FROM a) FROM b", "SELECT", "b", "SELECT (SELECT max(x) FROM a) FROM b"),
            ("(SELECT a FROM t1) UNION (SELECT a FROM t2)", "SELECT", "t1", "(SELECT a FROM t1) UNION (SELECT a FROM t2)"),
            ("SELECT $$secret$$, $tag$also $$ secret$tag$ FROM x", "SELECT", "x", "SELECT ?, ? FROM x"),
            ("select * from [dbo].[Orders] where [Id] = 5", "SELECT", "dbo.Orders", "select * from [dbo].[Orders] where [Id] = ?"),
            ("SELECT arr[1] FROM t", "SELECT", "t", "SELECT arr[?] FROM t"),
            ("SELECT 1 FROM DUAL", "SELECT", "", "SELECT ? FROM DUAL"),
            ("CALL proc(1, 'a')", "CALL", "", "CALL proc(?, ?)"),
            ("begin", "BEGIN", "", "begin"),
            ("", "", "", ""),
            ("42", "", "", "?"),
            ("SELECT 'unterminated", "SELECT", "", "SELECT ?"),
            ("SELECT * FROM t WHERE c1 = 1 AND \"c2\" = 2", "SELECT", "t", "SELECT * FROM t WHERE c1 = ? AND ? = ?"),
            ("SELECT @@version, @var", "SELECT", "", "SELECT @@version, @var"),
            ("SELECT 'é' || naïve FROM tâble", "SELECT", "tâble", "SELECT ? || naïve FROM tâble"),
            ("SELECT name FROM ebpf_items WHERE id = ?", "SELECT", "ebpf_items", "SELECT name FROM ebpf_items WHERE id = ?"),
            ("CREATE TABLE IF NOT EXISTS `users` (id int DEFAULT 0)", "CREATE", "users", "CREATE TABLE IF NOT EXISTS `users` (id int DEFAULT ?)"),
            ("create temporary table t (a int)", "CREATE", "t", "create temporary table t (a int)"),
            ("ALTER TABLE ONLY public.orders ADD COLUMN x int", "ALTER", "public.orders", "ALTER TABLE ONLY public.orders ADD COLUMN x int"),
            ("DROP TABLE IF EXISTS pgx_items, pgx_copy", "DROP", "pgx_items", "DROP TABLE IF EXISTS pgx_items, pgx_copy"),
            ("TRUNCATE logs", "TRUNCATE", "logs", "TRUNCATE logs"),
            ("TRUNCATE TABLE \"Logs\"", "TRUNCATE", "Logs", "TRUNCATE TABLE \"Logs\""),
            ("CREATE INDEX idx ON t (a)", "CREATE", "t", "CREATE INDEX idx ON t (a)"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE", "", "CREATE OR REPLACE VIEW v AS SELECT ?"),
            ("WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", "SELECT", "orders", "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent"),
        ];
        for (q, op, target, s) in cases {
            let got = sql_info(q);
            assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), (*op, *target, *s), "sql_info({q:?})");
        }
    }

    /// The Go tests' TestSQLInfoShapes: CTEs, subqueries in the select list,
    /// indexes, materialized views, malformed input.
    #[test]
    fn shapes_match_the_go_runtime() {
        let cases: &[(&str, &str, &str)] = &[
            // CTEs.
            ("WITH sub AS (INSERT INTO subscribers (uuid, email, name) VALUES ($1, $2, 'a (b) FROM c') RETURNING id) SELECT id FROM sub", "INSERT", "subscribers"),
            ("-- name: insert-subscriber\nWITH sub AS (\n    INSERT INTO subscribers (uuid, email, name, status, attribs)\n    VALUES($1, $2, $3, $4, $5)\n    RETURNING id, status\n),\nlistIDs AS (\n    SELECT id FROM lists WHERE\n        (CASE WHEN CARDINALITY($6::INT[]) > 0 THEN id=ANY($6)\n              ELSE uuid=ANY($7::UUID[]) END)\n),\nsubs AS (\n    INSERT INTO subscriber_lists (subscriber_id, list_id, status)\n    VALUES((SELECT id FROM sub), UNNEST(ARRAY(SELECT id FROM listIDs)), 'unconfirmed')\n    ON CONFLICT (subscriber_id, list_id) DO UPDATE SET updated_at=NOW()\n)\nSELECT id from sub;", "INSERT", "subscribers"),
            ("WITH ls AS (SELECT * FROM lists WHERE (CASE WHEN $1 > 0 THEN id = $1 ELSE TRUE END)), counts AS (SELECT list_id, COUNT(*) FROM subscriber_lists GROUP BY list_id) SELECT ls.*, counts.* FROM ls LEFT JOIN counts ON counts.list_id = ls.id", "SELECT", "lists"),
            ("WITH camp AS (SELECT id FROM campaigns WHERE status = 'running') UPDATE campaigns SET status = 'finished' WHERE id IN (SELECT id FROM camp)", "UPDATE", "campaigns"),
            ("WITH u AS (UPDATE users SET seen = now() WHERE id = $1 RETURNING *) SELECT * FROM u", "UPDATE", "users"),
            ("WITH x AS (SELECT id FROM t1), d AS (DELETE FROM public.sessions WHERE id IN (SELECT id FROM x) RETURNING id) SELECT count(*) FROM d", "DELETE", "public.sessions"),
            ("WITH a AS NOT MATERIALIZED (SELECT * FROM \"Shop\".\"Orders\" WHERE note = 'FROM (x)'), b AS MATERIALIZED (SELECT 1) SELECT * FROM b", "SELECT", "Shop.Orders"),
            ("with \"Cte\" as (select * from `accounts`) select * from \"Cte\"", "SELECT", "accounts"),
            ("WITH /* c ( */ a -- x (\n AS (SELECT * FROM t) SELECT * FROM a", "SELECT", "t"),
            ("WITH t AS (SELECT 1) INSERT INTO archive SELECT * FROM t", "INSERT", "archive"),
            ("WITH src AS (SELECT * FROM staging) MERGE INTO target t USING src ON t.id = src.id WHEN MATCHED THEN DELETE", "MERGE", "target"),
            ("WITH a AS (SELECT * FROM t) SELECT * FROM (SELECT * FROM a) z", "SELECT", "t"),
            ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t WHERE n < 5) SELECT sum(n) FROM t", "SELECT", ""),
            ("WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE parent_id IS NULL UNION ALL SELECT n.id FROM nodes n JOIN tree ON n.parent_id = tree.id) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM tree ORDER BY ord", "SELECT", "nodes"),
            ("WITH v (a, b) AS (VALUES (1, 2)) SELECT a FROM v", "SELECT", ""),
            ("WITH a AS (SELECT 1) SELECT 2", "SELECT", ""),
            ("WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT 3)", "", ""),
            // A subquery's table when the statement has none of its own.
            ("SELECT EXISTS (SELECT schema_migration.* FROM schema_migration WHERE version = $1)", "SELECT", "schema_migration"),
            ("SELECT count(*) FROM (SELECT DISTINCT a FROM \"s\".\"t\") AS x", "SELECT", "s.t"),
            ("SELECT COALESCE((SELECT name FROM users WHERE id = 1), 'none')", "SELECT", "users"),
            ("SELECT EXTRACT(EPOCH FROM now())", "SELECT", ""),
            ("SELECT $1 IS DISTINCT FROM $2", "SELECT", ""),
            ("SELECT 'FROM x', (SELECT 1)", "SELECT", ""),
            ("CREATE VIEW v AS (SELECT * FROM t)", "CREATE", ""),
            ("INSERT INTO log (n) VALUES ((SELECT count(*) FROM t))", "INSERT", "log"),
            // Indexes and materialized views.
            ("CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email ON users (lower(email))", "CREATE", "users"),
            ("CREATE INDEX CONCURRENTLY idx ON ONLY public.orders USING btree (created_at)", "CREATE", "public.orders"),
            ("create nonclustered index ix on [dbo].[Orders] ([CustomerId])", "CREATE", "dbo.Orders"),
            ("DROP INDEX idx ON t", "DROP", "t"),
            ("DROP INDEX IF EXISTS idx", "DROP", ""),
            ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_stats WITH DATA", "REFRESH", "mv_stats"),
            ("REFRESH MATERIALIZED VIEW \"stats\".\"daily\"", "REFRESH", "stats.daily"),
            // Malformed.
            ("WITH (((", "", ""),
            ("WITH a AS (", "", ""),
            ("WITH a AS ) SELECT", "", ""),
            ("WITH RECURSIVE", "", ""),
            (")))) WITH a AS (SELECT", "", ""),
            ("WITH a, b AS (SELECT) SELECT FROM", "", ""),
            ("WITH a AS (SELECT * FROM t.", "", ""),
            ("WITH a AS (SELECT * FROM t)))) SELECT * FROM a", "SELECT", "t"),
            ("SELECT EXISTS (SELECT * FROM", "SELECT", ""),
            ("SELECT * FROM (SELECT * FROM s.", "SELECT", ""),
            ("CREATE INDEX ON", "CREATE", ""),
            ("REFRESH", "REFRESH", ""),
        ];
        for (q, op, target) in cases {
            let got = sql_info(q);
            assert_eq!((got.0.as_str(), got.1.as_str()), (*op, *target), "sql_info({q:?})");
        }
    }
}

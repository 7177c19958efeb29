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

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Op,
    From,
    Into,
    Ddl,
    Table,
    TableDot,
    TableName,
    Done,
}

const KEYWORDS: &[&str] = &[
    "SELECT", "DELETE", "WITH", "INSERT", "REPLACE", "UPDATE", "FROM", "INTO", "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY",
    "IGNORE", "OR", "ROLLBACK", "ABORT", "FAIL", "ONLY", "QUICK", "LATERAL", "TABLE", "LIKE", "ILIKE", "THEN", "ELSE",
    "WHEN", "VALUES", "VALUE", "BETWEEN", "DEFAULT", "LIMIT", "OFFSET", "RETURN", "ESCAPE", "REGEXP", "RLIKE", "IN",
    "IS", "AND", "CREATE", "ALTER", "DROP", "TRUNCATE", "TEMPORARY", "TEMP", "UNLOGGED", "GLOBAL", "LOCAL", "IF", "NOT",
    "EXISTS",
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
    state: St,
    op_depth: usize,
    op: String,
    target: String,
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
        state: St::Op,
        op_depth: 0,
        op: String::new(),
        target: String::new(),
    };
    s.run();
    (s.op, s.target, s.out)
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
        if self.state == St::TableName || self.state == St::TableDot {
            self.finish_target();
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

    fn track(&mut self, kind: Tok, text: &str, upper: &str) {
        match self.state {
            St::Op => {
                if kind == Tok::Punct && text == "(" {
                    return;
                }
                if kind != Tok::Word {
                    self.state = St::Done;
                    return;
                }
                self.op = if upper.is_empty() { text.to_uppercase() } else { upper.to_string() };
                self.op_depth = self.depth;
                self.state = match upper {
                    "SELECT" | "DELETE" | "WITH" => St::From,
                    "INSERT" | "REPLACE" => St::Into,
                    "UPDATE" => St::Table,
                    "CREATE" | "ALTER" | "DROP" | "TRUNCATE" => St::Ddl,
                    _ => St::Done,
                };
            }
            St::Ddl => match () {
                _ if kind == Tok::Word && upper == "TABLE" => self.state = St::Table,
                _ if kind == Tok::Word && matches!(upper, "TEMPORARY" | "TEMP" | "UNLOGGED" | "GLOBAL" | "LOCAL" | "OR" | "REPLACE") => {}
                // TRUNCATE name
                _ if self.op == "TRUNCATE" && (kind == Tok::Word || kind == Tok::Quoted) => {
                    self.state = St::Table;
                    self.track(kind, text, upper);
                }
                _ => self.state = St::Done, // an index, a view, a database: no table
            },
            St::From => {
                if kind == Tok::Word && upper == "FROM" && self.depth == self.op_depth {
                    self.state = St::Table;
                }
            }
            St::Into => {
                if kind != Tok::Word && kind != Tok::Quoted {
                    self.state = St::Done;
                    return;
                }
                match upper {
                    "INTO" => self.state = St::Table,
                    "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" | "OR" | "ROLLBACK" | "ABORT" | "FAIL" => {}
                    _ => {
                        if self.op == "INSERT" && upper == "REPLACE" {
                            return;
                        }
                        self.state = St::Table;
                        self.track(kind, text, upper);
                    }
                }
            }
            St::Table => match () {
                _ if kind == Tok::Word && matches!(upper, "ONLY" | "LOW_PRIORITY" | "IGNORE" | "QUICK" | "LATERAL" | "TABLE" | "IF" | "NOT" | "EXISTS") => {}
                _ if kind == Tok::Word || kind == Tok::Quoted => {
                    self.add_target_part(kind, text);
                    self.state = St::TableName;
                }
                _ => self.state = St::Done,
            },
            St::TableName => {
                if kind == Tok::Punct && text == "." {
                    self.target.push('.');
                    self.state = St::TableDot;
                    return;
                }
                self.finish_target();
            }
            St::TableDot => {
                if kind == Tok::Word || kind == Tok::Quoted {
                    self.add_target_part(kind, text);
                    self.state = St::TableName;
                    return;
                }
                self.target.clear();
                self.state = St::Done;
            }
            St::Done => {}
        }
    }

    fn add_target_part(&mut self, kind: Tok, text: &str) {
        if kind == Tok::Quoted && text.len() >= 2 {
            self.target.push_str(&text[1..text.len() - 1]);
        } else {
            self.target.push_str(text);
        }
    }

    fn finish_target(&mut self) {
        self.state = St::Done;
        if matches!(self.target.to_uppercase().as_str(), "SELECT" | "WHERE" | "SET" | "VALUES" | "DUAL") {
            self.target.clear();
        }
    }
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
            ("SELECT * FROM (SELECT id FROM inner_t) AS sub", "SELECT", "", "SELECT * FROM (SELECT id FROM inner_t) AS sub"),
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
            ("CREATE INDEX idx ON t (a)", "CREATE", "", "CREATE INDEX idx ON t (a)"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE", "", "CREATE OR REPLACE VIEW v AS SELECT ?"),
        ];
        for (q, op, target, s) in cases {
            let got = sql_info(q);
            assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), (*op, *target, *s), "sql_info({q:?})");
        }
    }
}

package semconv

import (
	"strconv"
	"strings"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	cases := map[string]string{
		"":                       "",
		"a":                      "a",
		"a=1":                    "a=REDACTED",
		"a=1&b=&c&d=x%20y":       "a=REDACTED&b=&c&d=REDACTED",
		"sig=abc==&X-Goog-Sig=1": "sig=REDACTED&X-Goog-Sig=REDACTED",
		"&&a=1&":                 "&&a=REDACTED&",
		"=v":                     "=REDACTED",
		"q=a;b=c":                "q=REDACTED",
		"k%3D=v":                 "k%3D=REDACTED",
	}
	for in, want := range cases {
		if got := RedactQuery(in); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSQLInfo(t *testing.T) {
	cases := []struct{ q, op, target, sanitized string }{
		{"SELECT * FROM orders WHERE id = 42", "SELECT", "orders", "SELECT * FROM orders WHERE id = ?"},
		{"select a, b from shop.orders o join users u on o.uid = u.id where u.name = 'bob'", "SELECT", "shop.orders",
			"select a, b from shop.orders o join users u on o.uid = u.id where u.name = ?"},
		{"  \n\tSELECT 1", "SELECT", "", "SELECT ?"},
		{"INSERT INTO users (name, age) VALUES ('it''s', 3.5e10), ('x\\'y', -7)", "INSERT", "users",
			"INSERT INTO users (name, age) VALUES (?, ?), (?, -?)"},
		{"insert ignore into `db`.`t` set a=1", "INSERT", "db.t", "insert ignore into `db`.`t` set a=?"},
		{"INSERT t (a) VALUES (?)", "INSERT", "t", "INSERT t (a) VALUES (?)"},
		{"INSERT OR REPLACE INTO kv VALUES ($1, $2)", "INSERT", "kv", "INSERT OR REPLACE INTO kv VALUES ($1, $2)"},
		{"REPLACE INTO cache VALUES (0x1F, X'ab', b'01')", "REPLACE", "cache", "REPLACE INTO cache VALUES (?, ?, ?)"},
		{"UPDATE LOW_PRIORITY accounts SET balance = balance - 10.5 WHERE id = :id", "UPDATE", "accounts",
			"UPDATE LOW_PRIORITY accounts SET balance = balance - ? WHERE id = :id"},
		{"DELETE FROM sessions WHERE expires < NOW() -- cleanup 'x'\n AND user_id=@p1", "DELETE", "sessions",
			"DELETE FROM sessions WHERE expires < NOW() AND user_id=@p1"},
		{"/* app=web */ SELECT /*+ hint */ name FROM \"Users\" WHERE \"Users\".\"id\" = $1", "SELECT", "Users",
			"SELECT name FROM \"Users\" WHERE \"Users\".\"id\" = $1"},
		{"SELECT * FROM t WHERE name = \"bob\" AND x IN (\"a\", \"b\")", "SELECT", "t", "SELECT * FROM t WHERE name = ? AND x IN (?, ?)"},
		{"SELECT \"id\", \"name\" FROM \"people\"", "SELECT", "people", "SELECT \"id\", \"name\" FROM \"people\""},
		{"SELECT * FROM (SELECT id FROM inner_t) AS sub", "SELECT", "inner_t", "SELECT * FROM (SELECT id FROM inner_t) AS sub"},
		{"SELECT (SELECT max(x) FROM a) FROM b", "SELECT", "b", "SELECT (SELECT max(x) FROM a) FROM b"},
		{"WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", "SELECT", "orders", "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent"},
		{"(SELECT a FROM t1) UNION (SELECT a FROM t2)", "SELECT", "t1", "(SELECT a FROM t1) UNION (SELECT a FROM t2)"},
		{"SELECT $$secret$$, $tag$also $$ secret$tag$ FROM x", "SELECT", "x", "SELECT ?, ? FROM x"},
		{"SELECT E'a\\'b', N'unicode', x::text FROM t", "SELECT", "t", "SELECT ?, ?, x::text FROM t"},
		{"select * from [dbo].[Orders] where [Id] = 5", "SELECT", "dbo.Orders", "select * from [dbo].[Orders] where [Id] = ?"},
		{"SELECT arr[1] FROM t", "SELECT", "t", "SELECT arr[?] FROM t"},
		{"SELECT * FROM t1, t2 WHERE t1.c2 = t2.c3", "SELECT", "t1", "SELECT * FROM t1, t2 WHERE t1.c2 = t2.c3"},
		{"SELECT 1 FROM DUAL", "SELECT", "", "SELECT ? FROM DUAL"},
		{"CALL proc(1, 'a')", "CALL", "", "CALL proc(?, ?)"},
		{"begin", "BEGIN", "", "begin"},
		{"", "", "", ""},
		{"42", "", "", "?"},
		{"SELECT 'unterminated", "SELECT", "", "SELECT ?"},
		{"SELECT 1 /* unterminated", "SELECT", "", "SELECT ?"},
		{"SELECT .5, 1.e3, 12abc FROM t", "SELECT", "t", "SELECT ?, ?, ? FROM t"},
		{"SELECT * FROM t WHERE a BETWEEN 1 AND 2", "SELECT", "t", "SELECT * FROM t WHERE a BETWEEN ? AND ?"},
		{"SELECT * FROM t WHERE a LIKE \"%x%\"", "SELECT", "t", "SELECT * FROM t WHERE a LIKE ?"},
		{"DELETE FROM ONLY public.t", "DELETE", "public.t", "DELETE FROM ONLY public.t"},
		{"SELECT * FROM t WHERE c1 = 1 AND \"c2\" = 2", "SELECT", "t", "SELECT * FROM t WHERE c1 = ? AND ? = ?"},
		{"UPDATE t SET name = \"secret\"", "UPDATE", "t", "UPDATE t SET name = ?"},
		{"SELECT col_1, t2.col$x FROM t2", "SELECT", "t2", "SELECT col_1, t2.col$x FROM t2"},
		{"select\r\n  *\r\nfrom\r\n  orders ;", "SELECT", "orders", "select * from orders ;"},
		{"SELECT * FROM t WHERE id = ? OR id = %s", "SELECT", "t", "SELECT * FROM t WHERE id = ? OR id = %s"},
		{"SELECT @@version, @var", "SELECT", "", "SELECT @@version, @var"},
		{"SELECT 'a' 'b' FROM t -- trailing", "SELECT", "t", "SELECT ? ? FROM t"},
		{"SELECT 'é' || naïve FROM tâble", "SELECT", "tâble", "SELECT ? || naïve FROM tâble"},
		{"CREATE TABLE IF NOT EXISTS `users` (id int DEFAULT 0)", "CREATE", "users", "CREATE TABLE IF NOT EXISTS `users` (id int DEFAULT ?)"},
		{"create temporary table t (a int)", "CREATE", "t", "create temporary table t (a int)"},
		{"ALTER TABLE ONLY public.orders ADD COLUMN x int", "ALTER", "public.orders", "ALTER TABLE ONLY public.orders ADD COLUMN x int"},
		{"DROP TABLE IF EXISTS pgx_items, pgx_copy", "DROP", "pgx_items", "DROP TABLE IF EXISTS pgx_items, pgx_copy"},
		{"TRUNCATE logs", "TRUNCATE", "logs", "TRUNCATE logs"},
		{"TRUNCATE TABLE \"Logs\"", "TRUNCATE", "Logs", "TRUNCATE TABLE \"Logs\""},
		{"CREATE INDEX idx ON t (a)", "CREATE", "t", "CREATE INDEX idx ON t (a)"},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE", "", "CREATE OR REPLACE VIEW v AS SELECT ?"},
	}
	for _, c := range cases {
		op, target, s := SQLInfo(c.q)
		if op != c.op || target != c.target || s != c.sanitized {
			t.Errorf("SQLInfo(%q)\n got  %q %q %q\n want %q %q %q", c.q, op, target, s, c.op, c.target, c.sanitized)
		}
	}
}

// TestSQLInfoShapes covers CTEs (named after the main statement, or the
// table a CTE body uses), subqueries in the select list, indexes and
// materialized views.
func TestSQLInfoShapes(t *testing.T) {
	cases := []struct{ q, op, target string }{
		// CTEs.
		{"WITH sub AS (INSERT INTO subscribers (uuid, email, name) VALUES ($1, $2, 'a (b) FROM c') RETURNING id) SELECT id FROM sub", "INSERT", "subscribers"},
		{`-- name: insert-subscriber
WITH sub AS (
    INSERT INTO subscribers (uuid, email, name, status, attribs)
    VALUES($1, $2, $3, $4, $5)
    RETURNING id, status
),
listIDs AS (
    SELECT id FROM lists WHERE
        (CASE WHEN CARDINALITY($6::INT[]) > 0 THEN id=ANY($6)
              ELSE uuid=ANY($7::UUID[]) END)
),
subs AS (
    INSERT INTO subscriber_lists (subscriber_id, list_id, status)
    VALUES((SELECT id FROM sub), UNNEST(ARRAY(SELECT id FROM listIDs)), 'unconfirmed')
    ON CONFLICT (subscriber_id, list_id) DO UPDATE SET updated_at=NOW()
)
SELECT id from sub;`, "INSERT", "subscribers"},
		{"WITH ls AS (SELECT * FROM lists WHERE (CASE WHEN $1 > 0 THEN id = $1 ELSE TRUE END)), counts AS (SELECT list_id, COUNT(*) FROM subscriber_lists GROUP BY list_id) SELECT ls.*, counts.* FROM ls LEFT JOIN counts ON counts.list_id = ls.id", "SELECT", "lists"},
		{"WITH camp AS (SELECT id FROM campaigns WHERE status = 'running') UPDATE campaigns SET status = 'finished' WHERE id IN (SELECT id FROM camp)", "UPDATE", "campaigns"},
		{"WITH u AS (UPDATE users SET seen = now() WHERE id = $1 RETURNING *) SELECT * FROM u", "UPDATE", "users"},
		{"WITH x AS (SELECT id FROM t1), d AS (DELETE FROM public.sessions WHERE id IN (SELECT id FROM x) RETURNING id) SELECT count(*) FROM d", "DELETE", "public.sessions"},
		{"WITH a AS NOT MATERIALIZED (SELECT * FROM \"Shop\".\"Orders\" WHERE note = 'FROM (x)'), b AS MATERIALIZED (SELECT 1) SELECT * FROM b", "SELECT", "Shop.Orders"},
		{"with \"Cte\" as (select * from `accounts`) select * from \"Cte\"", "SELECT", "accounts"},
		{"WITH /* c ( */ a -- x (\n AS (SELECT * FROM t) SELECT * FROM a", "SELECT", "t"},
		{"WITH t AS (SELECT 1) INSERT INTO archive SELECT * FROM t", "INSERT", "archive"},
		{"WITH src AS (SELECT * FROM staging) MERGE INTO target t USING src ON t.id = src.id WHEN MATCHED THEN DELETE", "MERGE", "target"},
		{"WITH a AS (SELECT * FROM t) SELECT * FROM (SELECT * FROM a) z", "SELECT", "t"},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t WHERE n < 5) SELECT sum(n) FROM t", "SELECT", ""},
		{"WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE parent_id IS NULL UNION ALL SELECT n.id FROM nodes n JOIN tree ON n.parent_id = tree.id) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM tree ORDER BY ord", "SELECT", "nodes"},
		{"WITH v (a, b) AS (VALUES (1, 2)) SELECT a FROM v", "SELECT", ""},
		{"WITH a AS (SELECT 1) SELECT 2", "SELECT", ""},
		{"WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT 3)", "", ""},
		// A subquery's table when the statement has none of its own.
		{"SELECT EXISTS (SELECT schema_migration.* FROM schema_migration WHERE version = $1)", "SELECT", "schema_migration"},
		{"SELECT count(*) FROM (SELECT DISTINCT a FROM \"s\".\"t\") AS x", "SELECT", "s.t"},
		{"SELECT COALESCE((SELECT name FROM users WHERE id = 1), 'none')", "SELECT", "users"},
		{"SELECT EXTRACT(EPOCH FROM now())", "SELECT", ""},
		{"SELECT $1 IS DISTINCT FROM $2", "SELECT", ""},
		{"SELECT 'FROM x', (SELECT 1)", "SELECT", ""},
		{"CREATE VIEW v AS (SELECT * FROM t)", "CREATE", ""},
		{"INSERT INTO log (n) VALUES ((SELECT count(*) FROM t))", "INSERT", "log"},
		// Indexes and materialized views.
		{"CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email ON users (lower(email))", "CREATE", "users"},
		{"CREATE INDEX CONCURRENTLY idx ON ONLY public.orders USING btree (created_at)", "CREATE", "public.orders"},
		{"create nonclustered index ix on [dbo].[Orders] ([CustomerId])", "CREATE", "dbo.Orders"},
		{"DROP INDEX idx ON t", "DROP", "t"},
		{"DROP INDEX IF EXISTS idx", "DROP", ""},
		{"REFRESH MATERIALIZED VIEW CONCURRENTLY mv_stats WITH DATA", "REFRESH", "mv_stats"},
		{"REFRESH MATERIALIZED VIEW \"stats\".\"daily\"", "REFRESH", "stats.daily"},
		// Malformed.
		{"WITH (((", "", ""},
		{"WITH a AS (", "", ""},
		{"WITH a AS ) SELECT", "", ""},
		{"WITH RECURSIVE", "", ""},
		{")))) WITH a AS (SELECT", "", ""},
		{"WITH a, b AS (SELECT) SELECT FROM", "", ""},
		{"WITH a AS (SELECT * FROM t.", "", ""},
		{"WITH a AS (SELECT * FROM t)))) SELECT * FROM a", "SELECT", "t"},
		{"SELECT EXISTS (SELECT * FROM", "SELECT", ""},
		{"SELECT * FROM (SELECT * FROM s.", "SELECT", ""},
		{"CREATE INDEX ON", "CREATE", ""},
		{"REFRESH", "REFRESH", ""},
	}
	for _, c := range cases {
		if op, target, _ := SQLInfo(c.q); op != c.op || target != c.target {
			t.Errorf("SQLInfo(%q) = %q %q, want %q %q", c.q, op, target, c.op, c.target)
		}
	}
	// The text is sanitized as anywhere else.
	q := "WITH s AS (INSERT INTO t (a) VALUES ('secret (x) FROM y') RETURNING id) SELECT id FROM s"
	if _, _, s := SQLInfo(q); s != "WITH s AS (INSERT INTO t (a) VALUES (?) RETURNING id) SELECT id FROM s" {
		t.Errorf("SQLInfo(%q) text = %q", q, s)
	}
}

func TestSQLInfoNeverLeaksLiterals(t *testing.T) {
	secrets := []string{"'hunter2'", "E'hunter2'", "$$hunter2$$", "\"hunter2\"", "123456789"}
	shapes := []string{
		"SELECT * FROM t WHERE p = %s", "INSERT INTO t VALUES (%s)", "INSERT INTO t VALUES (1, %s)",
		"UPDATE t SET p = %s", "SELECT * FROM t WHERE a IN (1, %s)", "SELECT * FROM t WHERE p LIKE %s",
		"SELECT CASE WHEN a THEN %s ELSE %s END FROM t", "SELECT * FROM t WHERE p = 1 AND q = %s",
		"INSERT INTO t (a) VALUES (1), (%s)",
	}
	for _, shape := range shapes {
		for _, sec := range secrets {
			q := strings.ReplaceAll(shape, "%s", sec)
			if _, _, s := SQLInfo(q); strings.Contains(s, "hunter2") || strings.Contains(s, "123456789") {
				t.Errorf("SQLInfo(%q) leaked: %q", q, s)
			}
		}
	}
}

func TestDBSystem(t *testing.T) {
	cases := map[string]string{
		"github.com/go-sql-driver/mysql":                        "mysql",
		"github.com/lib/pq":                                     "postgresql",
		"github.com/jackc/pgx/v5/stdlib":                        "postgresql",
		"github.com/jackc/pgx/v4/stdlib":                        "postgresql",
		"github.com/jackc/pgx/stdlib":                           "postgresql",
		"github.com/mattn/go-sqlite3":                           "sqlite",
		"modernc.org/sqlite":                                    "sqlite",
		"modernc.org/sqlite/lib":                                "sqlite",
		"github.com/denisenkom/go-mssqldb":                      "microsoft.sql_server",
		"github.com/microsoft/go-mssqldb":                       "microsoft.sql_server",
		"github.com/godror/godror":                              "oracle.db",
		"github.com/sijms/go-ora/v2":                            "oracle.db",
		"github.com/ClickHouse/clickhouse-go/v2":                "clickhouse",
		"example.com/app/vendor/github.com/go-sql-driver/mysql": "mysql",
		"vendor/github.com/lib/pq":                              "postgresql",
		"github.com/lib/pqx":                                    "other_sql",
		"github.com/someone/mysql":                              "mysql",
		"example.com/mydriver":                                  "other_sql",
		"":                                                      "other_sql",
	}
	for in, want := range cases {
		if got := DBSystem(in); got != want {
			t.Errorf("DBSystem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDSNInfo(t *testing.T) {
	cases := []struct {
		system, dsn string
		host        string
		port        int
		ns          string
	}{
		{"mysql", "user:pass@tcp(db.example.com:3307)/shop?parseTime=true", "db.example.com", 3307, "shop"},
		{"mysql", "user:p@ss/w@rd@tcp(db:3306)/shop", "db", 3306, "shop"},
		{"mysql", "user@tcp(db)/shop", "db", 3306, "shop"},
		{"mysql", "user@tcp([::1]:3310)/shop", "::1", 3310, "shop"},
		{"mysql", "user:pw@/shop", "127.0.0.1", 3306, "shop"},
		{"mysql", "/shop", "127.0.0.1", 3306, "shop"},
		{"mysql", "user@unix(/var/run/mysqld/mysqld.sock)/shop", "", 0, "shop"},
		{"mysql", "user:pw@tcp(db:3306)/", "db", 3306, ""},
		{"mysql", "garbage", "", 0, ""},
		{"postgresql", "postgres://u:p@pg.local:5433/app?sslmode=disable", "pg.local", 5433, "app"},
		{"postgresql", "postgresql://pg.local/app", "pg.local", 5432, "app"},
		{"postgresql", "postgres://u:p%40ss@h1:5001,h2:5002/app", "h1", 5001, "app"},
		{"postgresql", "postgres:///app?host=/var/run/postgresql", "", 0, "app"},
		{"postgresql", "postgres://u:we#ird@pg/app", "pg", 5432, "app"},
		{"postgresql", "host=pg.local port=6432 user=u password='a b\\'c' dbname=app sslmode=disable", "pg.local", 6432, "app"},
		{"postgresql", "host=pg.local dbname=app", "pg.local", 5432, "app"},
		{"postgresql", "host=/tmp dbname=app", "", 0, "app"},
		{"postgresql", "dbname = app host = h", "h", 5432, "app"},
		{"postgresql", "user=u", "", 0, ""},
		{"sqlite", "file:test.db?cache=shared&mode=memory", "", 0, "test.db"},
		{"sqlite", "/var/lib/app/data.sqlite", "", 0, "/var/lib/app/data.sqlite"},
		{"sqlite", ":memory:", "", 0, ":memory:"},
		{"microsoft.sql_server", "sqlserver://sa:pw@mssql:1434?database=shop", "mssql", 1434, "shop"},
		{"microsoft.sql_server", "sqlserver://sa:pw@mssql/SQLEXPRESS?database=shop", "mssql", 1433, "shop"},
		{"microsoft.sql_server", "server=mssql,1435;user id=sa;password=x;database=shop", "mssql", 1435, "shop"},
		{"microsoft.sql_server", "Server=mssql\\inst;Database=shop", "mssql", 1433, "shop"},
		{"oracle.db", "user/pass@dbhost:1522/ORCLPDB", "dbhost", 1522, "ORCLPDB"},
		{"oracle.db", "oracle://user:pass@dbhost/svc", "dbhost", 1521, "svc"},
		{"clickhouse", "clickhouse://u:p@ch:9440/logs", "ch", 9440, "logs"},
		{"clickhouse", "tcp://ch:9000?database=logs", "ch", 9000, "logs"},
		{"other_sql", "foo://h:1/x", "h", 1, "x"},
		{"other_sql", "opaque", "", 0, ""},
		{"mysql", "", "", 0, ""},
	}
	for _, c := range cases {
		h, p, ns := DSNInfo(c.system, c.dsn)
		if h != c.host || p != c.port || ns != c.ns {
			t.Errorf("DSNInfo(%q, %q) = %q %d %q, want %q %d %q", c.system, c.dsn, h, p, ns, c.host, c.port, c.ns)
		}
	}
}

func TestDSNInfoNoCredentials(t *testing.T) {
	for _, c := range [][2]string{
		{"mysql", "admin:hunter2@tcp(db:3306)/x"},
		{"postgresql", "postgres://admin:hunter2@db/x"},
		{"postgresql", "password=hunter2 host=db"},
		{"microsoft.sql_server", "server=db;password=hunter2"},
	} {
		h, _, ns := DSNInfo(c[0], c[1])
		if strings.Contains(h+ns, "hunter2") || strings.Contains(h+ns, "admin") {
			t.Errorf("DSNInfo(%q) leaked credentials: %q %q", c[1], h, ns)
		}
	}
}

func BenchmarkSQLInfo(b *testing.B) {
	q := "SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'a@b.c' AND o.total > 100 LIMIT 10"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		SQLInfo(q)
	}
}

// TestSQLInfoRandom feeds SQL-ish noise (std packages cannot be fuzzed
// with go test -fuzz): no panic, and bounded output.
func TestSQLInfoRandom(t *testing.T) {
	parts := []string{"SELECT", " ", "FROM", "t", "'", "\"", "`", "[", "]", "(", ")", "$", "$a$", "--", "/*", "*/",
		"\\", "1", ".", "e", ",", "=", "?", ":", "@", "\n", "INSERT", "INTO", "VALUES", "é", "\xff", "0x", "N",
		"WITH", "AS", "RECURSIVE", "UPDATE", "DELETE", "CREATE INDEX", "ON", "REFRESH", "EXISTS"}
	seed := uint32(1)
	next := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j, n := 0, next(20); j < n; j++ {
			b.WriteString(parts[next(len(parts))])
		}
		q := b.String()
		op, target, s := SQLInfo(q)
		if len(s) > 2*len(q)+8 || (op == "" && target != "") || op == "WITH" {
			t.Fatalf("SQLInfo(%q) = %q %q %q", q, op, target, s)
		}
		for _, sys := range []string{"mysql", "postgresql", "sqlite", "microsoft.sql_server", "oracle.db", "clickhouse", "x"} {
			DSNInfo(sys, q)
		}
		RedactQuery(q)
		DBSystem(q)
	}
}

func TestCachedSQLInfo(t *testing.T) {
	qs := []string{"SELECT a FROM t WHERE x = 1", "INSERT INTO orders (a) VALUES ('secret')", strings.Repeat("SELECT 'x' ", 300)}
	for round := 0; round < 3; round++ {
		for _, q := range qs {
			op, tgt, s := CachedSQLInfo(q)
			wop, wtgt, ws := SQLInfo(q)
			if op != wop || tgt != wtgt || s != ws {
				t.Errorf("CachedSQLInfo(%q) = %q %q %q, want %q %q %q", q, op, tgt, s, wop, wtgt, ws)
			}
		}
	}
	// Past the bound the cache starts over and still answers right.
	for i := 0; i < 3*sqlCacheMax; i++ {
		q := "SELECT a FROM t" + strconv.Itoa(i) + " WHERE x = 'v'"
		if _, tgt, s := CachedSQLInfo(q); tgt != "t"+strconv.Itoa(i) || strings.Contains(s, "'v'") {
			t.Fatalf("CachedSQLInfo(%q) = %q %q", q, tgt, s)
		}
	}
	if n := sqlCachePtr.Load().n.Load(); n > sqlCacheMax+1 {
		t.Errorf("cache holds %d entries", n)
	}
}

func BenchmarkCachedSQLInfo(b *testing.B) {
	q := "SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'a@b.c' AND o.total > 100 LIMIT 10"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		CachedSQLInfo(q)
	}
}

package semconv

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// driverSystems maps driver module paths to semconv db.system.name values.
var driverSystems = []struct{ prefix, system string }{
	{"github.com/go-sql-driver/mysql", "mysql"},
	{"github.com/ziutek/mymysql", "mysql"},
	{"github.com/lib/pq", "postgresql"},
	{"github.com/jackc/pgx", "postgresql"},
	{"github.com/jackc/pgx/v4", "postgresql"},
	{"github.com/jackc/pgx/v5", "postgresql"},
	{"github.com/mattn/go-sqlite3", "sqlite"},
	{"modernc.org/sqlite", "sqlite"},
	{"github.com/glebarez/go-sqlite", "sqlite"},
	{"github.com/ncruces/go-sqlite3", "sqlite"},
	{"zombiezen.com/go/sqlite", "sqlite"},
	{"crawshaw.io/sqlite", "sqlite"},
	{"github.com/denisenkom/go-mssqldb", "microsoft.sql_server"},
	{"github.com/microsoft/go-mssqldb", "microsoft.sql_server"},
	{"github.com/godror/godror", "oracle.db"},
	{"github.com/sijms/go-ora", "oracle.db"},
	{"github.com/mattn/go-oci8", "oracle.db"},
	{"github.com/ClickHouse/clickhouse-go", "clickhouse"},
	{"github.com/mailru/go-clickhouse", "clickhouse"},
	{"github.com/SAP/go-hdb", "sap.hana"},
	{"github.com/ibmdb/go_ibm_db", "ibm.db2"},
	{"github.com/trinodb/trino-go-client", "trino"},
	{"github.com/snowflakedb/gosnowflake", "snowflake"},
}

// DBSystem returns db.system.name for the package path of a database/sql
// driver type (vendored paths and /vN suffixes are understood), or
// "other_sql".
func DBSystem(pkgPath string) string {
	if i := strings.LastIndex(pkgPath, "/vendor/"); i >= 0 {
		pkgPath = pkgPath[i+len("/vendor/"):]
	} else {
		pkgPath = strings.TrimPrefix(pkgPath, "vendor/")
	}
	for _, d := range driverSystems {
		if p, ok := strings.CutPrefix(pkgPath, d.prefix); ok && (p == "" || p[0] == '/') {
			return d.system
		}
	}
	// Forks and mirrors keep the last path element (…/go-sql-driver/mysql).
	switch lower := strings.ToLower(pkgPath); {
	case strings.HasSuffix(lower, "/mysql"):
		return "mysql"
	case strings.HasSuffix(lower, "/pq"), strings.Contains(lower, "/pgx"):
		return "postgresql"
	case strings.Contains(lower, "sqlite"):
		return "sqlite"
	case strings.Contains(lower, "mssql"):
		return "microsoft.sql_server"
	case strings.Contains(lower, "clickhouse"):
		return "clickhouse"
	}
	return "other_sql"
}

// DSNInfo extracts server.address, server.port and db.namespace from a
// data source name, best effort. It never returns credentials. Missing
// ports default per system (mysql 3306, postgresql 5432, SQL Server 1433,
// Oracle 1521, ClickHouse 9000); unix sockets give an empty host.
func DSNInfo(system, dsn string) (host string, port int, namespace string) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return "", 0, ""
	}
	switch system {
	case "sqlite":
		return "", 0, sqliteName(dsn)
	case "mysql":
		if !strings.Contains(dsn, "://") {
			return mysqlDSN(dsn)
		}
	case "postgresql":
		if !strings.Contains(dsn, "://") {
			return pgKeyValue(dsn)
		}
	case "microsoft.sql_server":
		if !strings.Contains(dsn, "://") {
			return adoDSN(dsn)
		}
	case "oracle.db":
		if !strings.Contains(dsn, "://") {
			return oracleDSN(dsn)
		}
	}
	if strings.Contains(dsn, "://") {
		return urlDSN(system, dsn)
	}
	return "", 0, ""
}

func defaultPort(system string) int {
	switch system {
	case "mysql":
		return 3306
	case "postgresql":
		return 5432
	case "microsoft.sql_server":
		return 1433
	case "oracle.db":
		return 1521
	case "clickhouse":
		return 9000
	}
	return 0
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port".
func splitHostPort(system, hp string) (string, int) {
	if hp == "" {
		return "", 0
	}
	if h, p, err := net.SplitHostPort(hp); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			n = defaultPort(system)
		}
		return h, n
	}
	return strings.Trim(hp, "[]"), defaultPort(system)
}

// mysqlDSN parses go-sql-driver's
// [user[:password]@][net[(addr)]]/dbname[?params].
func mysqlDSN(dsn string) (string, int, string) {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return "", 0, ""
	}
	db := dsn[slash+1:]
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	netAddr := dsn[:slash]
	if at := strings.LastIndexByte(netAddr, '@'); at >= 0 {
		netAddr = netAddr[at+1:]
	}
	proto, addr := netAddr, ""
	if i := strings.IndexByte(netAddr, '('); i >= 0 && strings.HasSuffix(netAddr, ")") {
		proto, addr = netAddr[:i], netAddr[i+1:len(netAddr)-1]
	}
	switch proto {
	case "unix":
		return "", 0, db
	case "", "tcp", "tcp4", "tcp6":
		if addr == "" {
			return "127.0.0.1", 3306, db // the driver's default
		}
		h, p := splitHostPort("mysql", addr)
		return h, p, db
	}
	// Custom dialers registered with RegisterDialContext: addr as given.
	h, p := splitHostPort("mysql", addr)
	return h, p, db
}

// pgKeyValue parses libpq's "host=… port=… dbname=…" form.
func pgKeyValue(dsn string) (string, int, string) {
	kv := parseKeyValues(dsn)
	host, port := kv["host"], kv["port"]
	if host == "" {
		host = kv["hostaddr"]
	}
	host, _, _ = strings.Cut(host, ",") // multiple hosts: the first
	port, _, _ = strings.Cut(port, ",")
	if strings.HasPrefix(host, "/") || host == "" {
		return "", 0, kv["dbname"]
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		p = 5432
	}
	return host, p, kv["dbname"]
}

// parseKeyValues reads key=value pairs separated by spaces; values may be
// single-quoted with backslash escapes.
func parseKeyValues(s string) map[string]string {
	m := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		key := s[start:i]
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			i++
			continue
		}
		i++
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
		}
		m[strings.ToLower(key)] = val.String()
	}
	return m
}

// adoDSN parses SQL Server's "server=host,port;database=db;…" form.
func adoDSN(dsn string) (string, int, string) {
	m := map[string]string{}
	for _, part := range strings.Split(dsn, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	server := m["server"]
	if server == "" {
		server = m["data source"]
	}
	server = strings.TrimPrefix(server, "tcp:")
	host, portStr, _ := strings.Cut(server, ",")
	host, _, _ = strings.Cut(host, `\`) // named instance
	if portStr == "" {
		portStr = m["port"]
	}
	port, err := strconv.Atoi(strings.TrimSpace(portStr))
	if err != nil || port <= 0 || port > 65535 {
		port = 1433
	}
	db := m["database"]
	if db == "" {
		db = m["initial catalog"]
	}
	if host == "" {
		port = 0
	}
	return strings.TrimSpace(host), port, db
}

// oracleDSN parses "user/pass@host:port/service" (easy connect).
func oracleDSN(dsn string) (string, int, string) {
	if at := strings.LastIndexByte(dsn, '@'); at >= 0 {
		dsn = dsn[at+1:]
	}
	dsn = strings.TrimPrefix(dsn, "//")
	hp, service, _ := strings.Cut(dsn, "/")
	if strings.ContainsAny(hp, "()= ") { // a TNS descriptor: not parsed
		return "", 0, ""
	}
	h, p := splitHostPort("oracle.db", hp)
	service, _, _ = strings.Cut(service, "?")
	return h, p, service
}

// urlDSN parses scheme://user:pass@host:port/db?… forms.
func urlDSN(system, dsn string) (string, int, string) {
	u, err := url.Parse(dsn)
	if err != nil {
		// Passwords with reserved characters break url.Parse: drop the
		// credentials and try again.
		scheme, rest, _ := strings.Cut(dsn, "://")
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			rest = rest[at+1:]
		}
		if u, err = url.Parse(scheme + "://" + rest); err != nil {
			return "", 0, ""
		}
	}
	q := u.Query()
	hostport := u.Host
	hostport, _, _ = strings.Cut(hostport, ",") // multiple hosts: the first
	if h := q.Get("host"); h != "" && hostport == "" {
		hostport = h
	}
	ns := strings.TrimPrefix(u.Path, "/")
	switch system {
	case "microsoft.sql_server":
		ns = q.Get("database")
	case "clickhouse":
		if d := q.Get("database"); d != "" {
			ns = d
		}
	case "postgresql":
		if d := q.Get("dbname"); d != "" {
			ns = d
		}
	}
	if strings.HasPrefix(hostport, "/") || strings.HasPrefix(hostport, "%2F") || strings.HasPrefix(hostport, "%2f") {
		return "", 0, ns // unix socket directory
	}
	h, p := splitHostPort(system, hostport)
	if i := strings.IndexByte(h, '\\'); i >= 0 && system == "microsoft.sql_server" {
		h = h[:i]
	}
	if h == "" {
		p = 0
	}
	if system == "postgresql" {
		if pp := q.Get("port"); pp != "" && !strings.Contains(u.Host, ":") {
			if n, err := strconv.Atoi(pp); err == nil && n > 0 && n <= 65535 {
				p = n
			}
		}
	}
	return h, p, ns
}

// sqliteName returns the database file path of a sqlite DSN.
func sqliteName(dsn string) string {
	dsn = strings.TrimPrefix(dsn, "file://")
	dsn = strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(dsn, '?'); i >= 0 {
		dsn = dsn[:i]
	}
	return dsn
}

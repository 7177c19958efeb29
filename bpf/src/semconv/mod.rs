//! Semantic-convention helpers, ported from the Go runtime's
//! `runtime/weft/internal/semconv` so eBPF spans carry exactly the values
//! woven spans carry: [`sql::sql_info`], [`redact_query`], [`db_system`],
//! [`dsn_info`]. Pure functions, safe on any input.

pub mod sql;

pub use sql::sql_info;

/// Replaces every non-empty value of a raw URL query with "REDACTED".
pub fn redact_query(raw: &str) -> String {
    if !raw.contains('=') {
        return raw.to_string();
    }
    raw.split('&')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if !v.is_empty() => format!("{k}=REDACTED"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

const DRIVER_SYSTEMS: &[(&str, &str)] = &[
    ("github.com/go-sql-driver/mysql", "mysql"),
    ("github.com/ziutek/mymysql", "mysql"),
    ("github.com/lib/pq", "postgresql"),
    ("github.com/jackc/pgx", "postgresql"),
    ("github.com/mattn/go-sqlite3", "sqlite"),
    ("modernc.org/sqlite", "sqlite"),
    ("github.com/glebarez/go-sqlite", "sqlite"),
    ("github.com/ncruces/go-sqlite3", "sqlite"),
    ("github.com/denisenkom/go-mssqldb", "microsoft.sql_server"),
    ("github.com/microsoft/go-mssqldb", "microsoft.sql_server"),
    ("github.com/godror/godror", "oracle.db"),
    ("github.com/sijms/go-ora", "oracle.db"),
    ("github.com/ClickHouse/clickhouse-go", "clickhouse"),
    ("github.com/SAP/go-hdb", "sap.hana"),
    ("github.com/trinodb/trino-go-client", "trino"),
    ("github.com/snowflakedb/gosnowflake", "snowflake"),
];

/// `db.system.name` for a driver module path (as the Go runtime's DBSystem),
/// or `None` when the path is no known driver.
pub fn db_system_of_module(path: &str) -> Option<&'static str> {
    DRIVER_SYSTEMS
        .iter()
        .find(|(p, _)| path.strip_prefix(p).is_some_and(|r| r.is_empty() || r.starts_with('/')))
        .map(|(_, s)| *s)
}

/// `db.system.name` from the name a driver registered with database/sql
/// (the eBPF path sees `sql.Open`'s driverName, not the driver's type).
pub fn db_system(driver_name: &str) -> &'static str {
    match driver_name.to_ascii_lowercase().as_str() {
        "mysql" | "mymysql" => "mysql",
        "postgres" | "postgresql" | "pgx" | "pgx/v5" | "pq" => "postgresql",
        "sqlite" | "sqlite3" => "sqlite",
        "sqlserver" | "mssql" | "azuresql" => "microsoft.sql_server",
        "godror" | "oracle" | "oci8" => "oracle.db",
        "clickhouse" | "chhttp" => "clickhouse",
        "hdb" => "sap.hana",
        "trino" => "trino",
        "snowflake" => "snowflake",
        _ => "other_sql",
    }
}

fn default_port(system: &str) -> u16 {
    match system {
        "mysql" => 3306,
        "postgresql" => 5432,
        "microsoft.sql_server" => 1433,
        "oracle.db" => 1521,
        "clickhouse" => 9000,
        _ => 0,
    }
}

fn split_host_port(system: &str, hp: &str) -> (String, u16) {
    if hp.is_empty() {
        return (String::new(), 0);
    }
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (rest, None),
        }
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (hp, None),
        }
    };
    let port = port.and_then(|p| p.parse::<u16>().ok()).filter(|p| *p > 0).unwrap_or_else(|| default_port(system));
    (host.to_string(), port)
}

/// (server.address, server.port, db.namespace) from a DSN, never credentials.
pub fn dsn_info(system: &str, dsn: &str) -> (String, u16, String) {
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return (String::new(), 0, String::new());
    }
    if dsn.contains("://") {
        return url_dsn(system, dsn);
    }
    match system {
        "mysql" => mysql_dsn(dsn),
        "postgresql" => pg_key_value(dsn),
        "sqlite" => (String::new(), 0, dsn.trim_start_matches("file:").split('?').next().unwrap_or("").to_string()),
        _ => (String::new(), 0, String::new()),
    }
}

/// go-sql-driver's `[user[:password]@][net[(addr)]]/dbname[?params]`.
fn mysql_dsn(dsn: &str) -> (String, u16, String) {
    let Some(slash) = dsn.rfind('/') else { return (String::new(), 0, String::new()) };
    let db = dsn[slash + 1..].split('?').next().unwrap_or("").to_string();
    let mut net_addr = &dsn[..slash];
    if let Some(at) = net_addr.rfind('@') {
        net_addr = &net_addr[at + 1..];
    }
    let (proto, addr) = match net_addr.find('(') {
        Some(i) if net_addr.ends_with(')') => (&net_addr[..i], &net_addr[i + 1..net_addr.len() - 1]),
        _ => (net_addr, ""),
    };
    match proto {
        "unix" => (String::new(), 0, db),
        "" | "tcp" | "tcp4" | "tcp6" if addr.is_empty() => ("127.0.0.1".into(), 3306, db),
        _ => {
            let (h, p) = split_host_port("mysql", addr);
            (h, p, db)
        }
    }
}

/// libpq's `host=… port=… dbname=…`.
fn pg_key_value(dsn: &str) -> (String, u16, String) {
    let kv: std::collections::HashMap<String, String> = dsn
        .split_whitespace()
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches('\'').to_string())))
        .collect();
    let host = kv.get("host").or_else(|| kv.get("hostaddr")).cloned().unwrap_or_default();
    let host = host.split(',').next().unwrap_or("").to_string();
    let db = kv.get("dbname").cloned().unwrap_or_default();
    if host.is_empty() || host.starts_with('/') {
        return (String::new(), 0, db);
    }
    let port = kv.get("port").and_then(|p| p.split(',').next()?.parse().ok()).unwrap_or(5432);
    (host, port, db)
}

/// `scheme://user:pass@host:port/db?…`.
fn url_dsn(system: &str, dsn: &str) -> (String, u16, String) {
    let rest = dsn.split_once("://").map(|x| x.1).unwrap_or("");
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let hostport = authority.rsplit_once('@').map(|x| x.1).unwrap_or(authority);
    let hostport = hostport.split(',').next().unwrap_or("");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut ns = path.trim_start_matches('/').to_string();
    for kv in query.split('&') {
        if let Some((k, v)) = kv.split_once('=') {
            if (k == "database" && system != "postgresql") || (k == "dbname" && system == "postgresql") {
                ns = v.to_string();
            }
        }
    }
    if hostport.starts_with('/') || hostport.to_ascii_lowercase().starts_with("%2f") {
        return (String::new(), 0, ns);
    }
    let (h, p) = split_host_port(system, hostport);
    if h.is_empty() {
        return (h, 0, ns);
    }
    (h, p, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_query_values() {
        assert_eq!(redact_query("a=1&b=&c&d=x%20y"), "a=REDACTED&b=&c&d=REDACTED");
        assert_eq!(redact_query("a"), "a");
        assert_eq!(redact_query("&&a=1&"), "&&a=REDACTED&");
    }

    #[test]
    fn dsns() {
        assert_eq!(dsn_info("mysql", "weft:pw@tcp(127.0.0.1:33306)/weftshop?parseTime=true"), ("127.0.0.1".into(), 33306, "weftshop".into()));
        assert_eq!(dsn_info("mysql", "u:p@/db"), ("127.0.0.1".into(), 3306, "db".into()));
        assert_eq!(dsn_info("mysql", "u:p@unix(/run/m.sock)/db"), ("".into(), 0, "db".into()));
        assert_eq!(dsn_info("postgresql", "host=db.local port=6543 dbname=shop user=x"), ("db.local".into(), 6543, "shop".into()));
        assert_eq!(dsn_info("postgresql", "postgres://u:p@pg:5433/orders?sslmode=disable"), ("pg".into(), 5433, "orders".into()));
        assert_eq!(dsn_info("postgresql", "postgres://u:p@[::1]/orders"), ("::1".into(), 5432, "orders".into()));
    }

    #[test]
    fn systems() {
        assert_eq!(db_system("mysql"), "mysql");
        assert_eq!(db_system("pgx"), "postgresql");
        assert_eq!(db_system("weird"), "other_sql");
        assert_eq!(db_system_of_module("github.com/jackc/pgx/v5"), Some("postgresql"));
        assert_eq!(db_system_of_module("github.com/lib/pqx"), None);
    }
}

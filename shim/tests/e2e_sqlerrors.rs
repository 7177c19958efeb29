//! database/sql errors end to end: tests/go/sqlerrors queries a missing
//! table through four real drivers (go-sql-driver/mysql against MariaDB,
//! also wrapped in a driver of the program's, lib/pq and pgx's stdlib
//! driver against PostgreSQL, modernc.org/sqlite in memory). Each span is an
//! error whose `error.type` and `db.response.status_code` are the
//! database's own code (semconv), read from the driver's error type; an
//! error without one (an argument database/sql cannot convert) keeps its Go
//! type.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;
use weft::receiver::{Receiver, StatusCode};

#[test]
fn driver_errors_carry_the_databases_code() {
    let pg = std::env::var("POSTGRES_DSN").unwrap_or_else(|_| {
        panic!("POSTGRES_DSN is not set: start PostgreSQL with `eval \"$(tests/services/postgres.sh start && tests/services/postgres.sh env)\"` or run tests/run.sh")
    });
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("sqlerrors");
    run_ok(&mut weft_build(&repo().join("tests/go/sqlerrors"), &bin, None));

    let rx = Receiver::start("127.0.0.1:0").unwrap();
    let out = run_ok(
        Command::new(&bin)
            .env("MYSQL_DSN", mysql_dsn())
            .env("POSTGRES_DSN", pg)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let spans = rx.wait_for(|s| s.len() >= 6, Duration::from_secs(20));
    let dump = format!("{stdout}\n{}", weft::receiver::render_traces(&spans, false));
    assert_eq!(spans.len(), 6, "{dump}");

    let by_system = |system: &str| -> Vec<_> { spans.iter().filter(|s| s.attr_str("db.system.name") == Some(system)).collect() };
    // The MySQL driver, and the same wrapped in another driver: the system,
    // address and database come from the driver inside.
    let mysql = by_system("mysql");
    let missing: Vec<_> = mysql.iter().filter(|s| s.name == "SELECT weft_missing").collect();
    assert_eq!(missing.len(), 2, "{dump}");
    for missing in missing {
        assert_eq!(missing.status_code, StatusCode::Error, "{dump}");
        assert_eq!((missing.attr_str("error.type"), missing.attr_str("db.response.status_code")), (Some("1146"), Some("1146")), "{dump}");
        assert!(missing.status_message.contains("weft_missing"), "{dump}");
        assert_eq!(missing.attr_str("server.address"), Some("127.0.0.1"), "{dump}");
        assert!(missing.attr_int("server.port").is_some() && missing.attr_str("db.namespace").is_some(), "{dump}");
    }

    let argument = mysql.iter().find(|s| s.name == "SELECT").unwrap_or_else(|| panic!("{dump}"));
    assert_eq!(argument.status_code, StatusCode::Error, "{dump}");
    assert!(argument.attr_str("error.type").is_some_and(|t| t.starts_with('*')), "the Go type:\n{dump}");
    assert_eq!(argument.attr_str("db.response.status_code"), None, "{dump}");

    let pg = by_system("postgresql");
    assert_eq!(pg.len(), 2, "lib/pq and pgx:\n{dump}");
    for s in pg {
        assert_eq!(s.name, "SELECT weft_missing", "{dump}");
        assert_eq!(s.status_code, StatusCode::Error, "{dump}");
        assert_eq!((s.attr_str("error.type"), s.attr_str("db.response.status_code")), (Some("42P01"), Some("42P01")), "{dump}");
    }

    // modernc.org/sqlite keeps its result code behind a Code() method:
    // SQLITE_ERROR, 1.
    let sqlite = by_system("sqlite");
    assert_eq!(sqlite.len(), 1, "{dump}");
    assert_eq!(sqlite[0].name, "SELECT weft_missing", "{dump}");
    assert_eq!(sqlite[0].status_code, StatusCode::Error, "{dump}");
    assert_eq!((sqlite[0].attr_str("error.type"), sqlite[0].attr_str("db.response.status_code")), (Some("1"), Some("1")), "{dump}");
}

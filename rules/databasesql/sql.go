// Client spans for database/sql: woven into package database/sql.

package sql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// weftDBInfo is what every span of one DB shares; computed once.
type weftDBInfo struct {
	system, host, namespace string
	port                    int
}

type weftOpenState struct{ dsn string }

func weftOpenBefore(_ *string, dsn *string) (weftOpenState, bool) {
	return weftOpenState{dsn: *dsn}, true
}

func weftOpenAfter(st weftOpenState, db **DB, err *error) {
	defer func() { _ = recover() }()
	if *err == nil && *db != nil {
		(*db).weftInfo.Store(weftInfoFor(*db, st.dsn))
	}
}

func weftInfoFor(db *DB, dsn string) *weftDBInfo {
	info := &weftDBInfo{system: "other_sql"}
	if db.connector != nil {
		if d := db.connector.Driver(); d != nil {
			info.system = weftDriverSystem(reflect.ValueOf(d), 3)
		}
	}
	if dsn != "" {
		info.host, info.port, info.namespace = weftDSNInfo(info.system, dsn)
	} else if db.connector != nil {
		info.host, info.port, info.namespace = weftConnectorInfo(reflect.ValueOf(db.connector), 3)
	}
	return info
}

var weftDriverType = reflect.TypeOf((*driver.Driver)(nil)).Elem()

// weftDriverSystem is db.system.name for the driver d, from its package;
// for a driver that wraps another (instrumentedsql, which gobuffalo/pop
// uses, sqlhooks, otelsql …), from the driver it holds in a field, up to
// depth wrappers down.
func weftDriverSystem(d reflect.Value, depth int) string {
	t := d.Type()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	system := weftDBSystem(t.PkgPath())
	if system != "other_sql" || depth == 0 {
		return system
	}
	for d.Kind() == reflect.Pointer || d.Kind() == reflect.Interface {
		if d.IsNil() {
			return system
		}
		d = d.Elem()
	}
	if d.Kind() != reflect.Struct {
		return system
	}
	for i := 0; i < d.NumField(); i++ {
		f := d.Field(i)
		if (f.Kind() != reflect.Interface && f.Kind() != reflect.Pointer) || f.IsNil() {
			continue
		}
		inner := f
		if f.Kind() == reflect.Interface {
			inner = f.Elem()
		}
		if inner.Type().Implements(weftDriverType) {
			if s := weftDriverSystem(inner, depth-1); s != "other_sql" {
				return s
			}
		}
	}
	return system
}

// weftConnectorInfo reads what OpenDB's connector was configured with, by
// the names drivers give the fields of their config (pgx's stdlib: Host,
// Port, Database; go-sql-driver/mysql: Addr, DBName), through pointers
// and fields up to depth levels down. database/sql cannot name the
// drivers' types.
func weftConnectorInfo(v reflect.Value, depth int) (host string, port int, namespace string) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || depth == 0 {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		switch name := t.Field(i).Name; {
		case f.Kind() == reflect.String && (name == "Host" || name == "Addr"):
			if host == "" {
				host = f.String()
			}
		case f.Kind() == reflect.String && (name == "Database" || name == "DBName"):
			if namespace == "" {
				namespace = f.String()
			}
		case name == "Port" && f.CanUint():
			port = int(f.Uint())
		case name == "Port" && f.CanInt():
			port = int(f.Int())
		case f.Kind() == reflect.Struct || f.Kind() == reflect.Pointer:
			h, p, n := weftConnectorInfo(f, depth-1)
			if host == "" {
				host = h
			}
			if port == 0 {
				port = p
			}
			if namespace == "" {
				namespace = n
			}
		}
	}
	// An Addr is host:port ([v6]:port); a unix socket's path has no colon.
	for i := len(host) - 1; i >= 0 && port == 0; i-- {
		if host[i] == ':' {
			if p, err := strconv.Atoi(host[i+1:]); err == nil {
				host, port = host[:i], p
				if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
					host = host[1 : len(host)-1]
				}
			}
			break
		}
	}
	return
}

func (db *DB) weftInfoOf() *weftDBInfo {
	if info := db.weftInfo.Load(); info != nil {
		return info
	}
	// Opened with OpenDB(connector): no DSN to read.
	info := weftInfoFor(db, "")
	db.weftInfo.CompareAndSwap(nil, info)
	return db.weftInfo.Load()
}

type weftDBState struct{ span unsafe.Pointer }

// weftDBStart starts the span of query and hands the driver a ctx carrying
// it (*ctx): a driver's own hook (rules/pgx) then leaves the query to it,
// and what the driver does over HTTP is its child.
func weftDBStart(ctx *context.Context, db *DB, query string) (weftDBState, bool) {
	defer func() { _ = recover() }()
	if db == nil || !weftEnabled() {
		return weftDBState{}, false
	}
	info := db.weftInfoOf()
	op, target, text := weftSQLInfo(query)
	name := info.system
	switch {
	case op != "" && target != "":
		name = op + " " + target
	case op != "":
		name = op
	}
	if *ctx == nil {
		*ctx = context.Background()
	}
	spanCtx, span := weftStartSpan(*ctx, "weft/database/sql", name, 3)
	if span == nil {
		return weftDBState{}, false
	}
	*ctx = spanCtx
	// One call for the strings (weftSetStrings keeps kv on this stack).
	var kv [12]string
	n := 0
	add := func(key, value string) {
		if value != "" {
			kv[n], kv[n+1] = key, value
			n += 2
		}
	}
	add("db.system.name", info.system)
	add("db.operation.name", op)
	add("db.collection.name", target)
	add("db.query.text", text)
	add("db.namespace", info.namespace)
	add("server.address", info.host)
	weftSetStrings(span, kv[:n])
	if info.host != "" && info.port > 0 {
		weftSetInt(span, "server.port", int64(info.port))
	}
	return weftDBState{span: span}, true
}

func weftQueryDCBefore(db **DB, ctx *context.Context, _ *context.Context, _ **driverConn, _ *func(error), query *string, _ *[]any) (weftDBState, bool) {
	return weftDBStart(ctx, *db, *query)
}

func weftExecDCBefore(db **DB, ctx *context.Context, _ **driverConn, _ *func(error), query *string, _ *[]any) (weftDBState, bool) {
	return weftDBStart(ctx, *db, *query)
}

func weftStmtQueryBefore(s **Stmt, ctx *context.Context, _ *[]any) (weftDBState, bool) {
	if *s == nil {
		return weftDBState{}, false
	}
	return weftDBStart(ctx, (*s).db, (*s).query)
}

func weftStmtExecBefore(s **Stmt, ctx *context.Context, _ *[]any) (weftDBState, bool) {
	if *s == nil {
		return weftDBState{}, false
	}
	return weftDBStart(ctx, (*s).db, (*s).query)
}

func weftQueryAfter(st weftDBState, _ **Rows, err *error) { weftDBEnd(st, *err) }

func weftExecAfter(st weftDBState, _ *Result, err *error) { weftDBEnd(st, *err) }

func weftDBEnd(st weftDBState, err error) {
	defer func() { _ = recover() }()
	defer weftEnd(st.span)
	if err != nil && !errors.Is(err, driver.ErrSkip) {
		typ := fmt.Sprintf("%T", err)
		if code := weftDBErrorCode(err); code != "" {
			typ = code // semconv: error.type is the database's code when there is one
			weftSetString(st.span, "db.response.status_code", code)
		}
		weftSetError(st.span, typ, err.Error())
	}
}

// weftDBErrorCode is the database's own code for err, read from its
// driver's error type (which database/sql cannot name): a method Code()
// int (modernc.org/sqlite's result code), an exported field Number
// (MySQL's 1146, SQL Server's), else Code (PostgreSQL's SQLSTATE from pq
// and pgx, mattn/go-sqlite3's result code). "" when there is none.
func weftDBErrorCode(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(interface{ Code() int }); ok && c.Code() != 0 {
			return strconv.Itoa(c.Code())
		}
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		for _, name := range [...]string{"Number", "Code"} {
			if f, ok := v.Type().FieldByName(name); !ok || !f.IsExported() {
				continue
			}
			switch f := v.FieldByName(name); f.Kind() {
			case reflect.String:
				if f.String() != "" {
					return f.String()
				}
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				if f.Int() != 0 {
					return strconv.FormatInt(f.Int(), 10)
				}
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				if f.Uint() != 0 {
					return strconv.FormatUint(f.Uint(), 10)
				}
			}
		}
	}
	return ""
}

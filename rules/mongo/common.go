// Client spans for the MongoDB Go driver, shared by the v1 and v2 rules
// (both packages are named mongo). weft wraps the CommandMonitor of every
// Client as NewClient (v2: newClient) returns it: the driver itself then
// says when each command starts and ends, on the ctx of the call that sent
// it (a cursor's getMore on the ctx of its Next). The program's own
// monitor is still called. The mongo package imports no sync, so a
// one-slot channel is the lock of the commands in flight.

package mongo

import (
	"context"
	"net"
	"strconv"
	"strings"
	"unsafe"
)

// weftCommands holds the spans of the commands in flight, by the
// connection and request id their started and finished events share.
type weftCommands struct {
	lock chan struct{}
	open map[weftCommandKey]unsafe.Pointer
}

type weftCommandKey struct {
	conn string
	id   int64
}

func weftNewCommands() *weftCommands {
	return &weftCommands{lock: make(chan struct{}, 1), open: map[weftCommandKey]unsafe.Pointer{}}
}

// start starts the span of command op (on collection coll, "" when it
// names none) of database db, sent on connection conn.
func (c *weftCommands) start(ctx context.Context, conn string, id int64, op, coll, db string) {
	defer func() { _ = recover() }()
	if !weftEnabled() || op == "" {
		return
	}
	// semconv: "{db.operation.name} {target}", the target being the
	// collection, else the database.
	name := op
	if coll != "" {
		name = op + " " + coll
	} else if db != "" {
		name = op + " " + db
	}
	_, span := weftStartSpan(ctx, weftScope, name, 3)
	if span == nil {
		return
	}
	host, port := weftMongoAddr(conn)
	var kv [10]string
	n := 0
	add := func(key, value string) {
		if value != "" {
			kv[n], kv[n+1] = key, value
			n += 2
		}
	}
	add("db.system.name", "mongodb")
	add("db.operation.name", op)
	add("db.collection.name", coll)
	add("db.namespace", db)
	add("server.address", host)
	weftSetStrings(span, kv[:n])
	if port != 0 {
		weftSetInt(span, "server.port", int64(port))
	}
	c.lock <- struct{}{}
	c.open[weftCommandKey{conn, id}] = span
	<-c.lock
}

// end ends the span of request id on conn, if it has one. A failed
// command has its error: errType (the server's code when it gave one,
// which is also db.response.status_code as code) and msg.
func (c *weftCommands) end(conn string, id int64, code, errType, msg string) {
	defer func() { _ = recover() }()
	key := weftCommandKey{conn, id}
	c.lock <- struct{}{}
	span := c.open[key]
	delete(c.open, key)
	<-c.lock
	if span == nil {
		return
	}
	if code != "" {
		weftSetString(span, "db.response.status_code", code)
	}
	if errType != "" {
		weftSetError(span, errType, msg)
	}
	weftEnd(span)
}

// weftNamesCollection reports whether command op names a collection as its
// first value. Other commands' first string is something else: getLog's
// log, usersInfo's user, renameCollection's full namespace.
func weftNamesCollection(op string) bool {
	switch op {
	case "find", "insert", "update", "delete", "findAndModify", "aggregate",
		"count", "distinct", "killCursors", "create", "drop", "collMod",
		"createIndexes", "dropIndexes", "listIndexes", "mapReduce", "validate",
		"compact", "collStats", "reIndex", "convertToCapped", "cloneCollectionAsCapped",
		"createSearchIndexes", "dropSearchIndex", "updateSearchIndex", "listSearchIndexes":
		return true
	}
	return false
}

// weftMongoAddr reads server.address and port from an event's
// ConnectionID: "host:port[-7]" (the driver's connection number in
// brackets), or a unix socket's path.
func weftMongoAddr(conn string) (string, int) {
	if i := strings.LastIndexByte(conn, '['); i > 0 && strings.HasSuffix(conn, "]") {
		conn = conn[:i]
	}
	if strings.HasSuffix(conn, ".sock") {
		return conn, 0
	}
	host, port, err := net.SplitHostPort(conn)
	if err != nil {
		return conn, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// weftMongoFailure reads the server's code name from a failure message
// as the v1 driver words it: "(NamespaceNotFound) ns does not exist".
func weftMongoFailure(msg string) string {
	if strings.HasPrefix(msg, "(") {
		if i := strings.IndexByte(msg, ')'); i > 1 && !strings.ContainsAny(msg[1:i], " (") {
			return msg[1:i]
		}
	}
	return "_OTHER"
}

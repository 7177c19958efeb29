// The v1 driver's side of rules/mongo/common.go: its event types, its bson
// and its failures, which are strings.

package mongo

import (
	"context"
	"strconv"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const weftScope = "weft/go.mongodb.org/mongo-driver/mongo"

func weftNewClientBefore(_ *[]*options.ClientOptions) (struct{}, bool) { return struct{}{}, true }

func weftNewClientAfter(_ struct{}, c **Client, _ *error) {
	defer func() { _ = recover() }()
	// No weftEnabled check: a Client made while a package initializes
	// may come before weft/rt's own initialization.
	if *c != nil {
		(*c).monitor = weftMonitor((*c).monitor)
	}
}

// weftMonitor returns a monitor that traces each command and then calls
// inner's functions (read at each call: a program may set them later).
func weftMonitor(inner *event.CommandMonitor) *event.CommandMonitor {
	cmds := weftNewCommands()
	return &event.CommandMonitor{
		Started: func(ctx context.Context, e *event.CommandStartedEvent) {
			if e != nil {
				cmds.start(ctx, e.ConnectionID, e.RequestID, e.CommandName, weftCollection(e.Command, e.CommandName), e.DatabaseName)
			}
			if inner != nil && inner.Started != nil {
				inner.Started(ctx, e)
			}
		},
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			if e != nil {
				code, msg := weftWriteError(e.Reply)
				cmds.end(e.ConnectionID, e.RequestID, code, code, msg)
			}
			if inner != nil && inner.Succeeded != nil {
				inner.Succeeded(ctx, e)
			}
		},
		Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
			if e != nil {
				cmds.end(e.ConnectionID, e.RequestID, "", weftMongoFailure(e.Failure), e.Failure)
			}
			if inner != nil && inner.Failed != nil {
				inner.Failed(ctx, e)
			}
		},
	}
}

// weftCollection is the collection a command names: its first value when
// that is a string and the command is one on a collection (find, insert,
// update, delete, aggregate, count, distinct, findAndModify,
// createIndexes, drop …: weftNamesCollection), getMore's "collection"
// field; "" for the others (ping, listCollections, getLog, an aggregate
// of 1).
func weftCollection(cmd bson.Raw, op string) (coll string) {
	defer func() {
		if recover() != nil {
			coll = ""
		}
	}()
	if op == "getMore" {
		v, err := cmd.LookupErr("collection")
		if err != nil {
			return ""
		}
		coll, _ = v.StringValueOK()
		return coll
	}
	if !weftNamesCollection(op) {
		return ""
	}
	el, err := cmd.IndexErr(0)
	if err != nil {
		return ""
	}
	coll, _ = el.Value().StringValueOK()
	return coll
}

// weftWriteError reads the first write error (or the write concern error)
// of a reply whose command succeeded: a duplicate key is {ok: 1,
// writeErrors: [{code: 11000, errmsg: …}]}.
func weftWriteError(reply bson.Raw) (code, msg string) {
	defer func() {
		if recover() != nil {
			code, msg = "", ""
		}
	}()
	for _, path := range [][]string{{"writeErrors", "0"}, {"writeConcernError"}} {
		v, err := reply.LookupErr(path...)
		if err != nil {
			continue
		}
		doc, ok := v.DocumentOK()
		if !ok {
			continue
		}
		c, err := doc.LookupErr("code")
		if err != nil {
			continue
		}
		n, ok := c.Int32OK()
		if !ok {
			continue
		}
		if m, err := doc.LookupErr("errmsg"); err == nil {
			msg, _ = m.StringValueOK()
		}
		return strconv.Itoa(int(n)), msg
	}
	return "", ""
}

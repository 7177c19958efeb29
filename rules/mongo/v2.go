// The v2 driver's side of rules/mongo/common.go: its event types, its bson
// and its failures, which are errors (with the server's code).

package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
)

const weftScope = "weft/go.mongodb.org/mongo-driver/v2/mongo"

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
				code, typ, msg := weftFailure(e.Failure)
				cmds.end(e.ConnectionID, e.RequestID, code, typ, msg)
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

// weftFailure is a failed command's code (the server's, as
// db.response.status_code and error.type), else the error's Go type.
func weftFailure(err error) (code, typ, msg string) {
	if err == nil {
		return "", "_OTHER", ""
	}
	var de driver.Error
	if errors.As(err, &de) && de.Code != 0 {
		code = strconv.Itoa(int(de.Code))
		return code, code, err.Error()
	}
	return "", fmt.Sprintf("%T", err), err.Error()
}

// Redis command spans' attributes: the command name, and db.query.text
// with keys kept and values replaced by "?" ("SET user:1 ?"). Shared by the
// redigo and go-redis rules (both packages are named redis).

package redis

import (
	"strconv"
	"strings"
	"unsafe"
)

// weftRedisAttrs records what every Redis command span carries.
func weftRedisAttrs(span unsafe.Pointer, op, text string, size int, db, host string, port int) {
	weftSetString(span, "db.system.name", "redis")
	weftSetString(span, "db.operation.name", op)
	if text != "" {
		weftSetString(span, "db.query.text", text)
	}
	if size > 1 {
		weftSetInt(span, "db.operation.batch.size", int64(size))
	}
	if db != "" {
		weftSetString(span, "db.namespace", db)
	}
	if host != "" {
		weftSetString(span, "server.address", host)
		if port > 0 {
			weftSetInt(span, "server.port", int64(port))
		}
	}
}

// Where the keys are among a command's arguments.
const (
	weftKeyFirst     = iota // GET key, SET key ?: the first argument (the default)
	weftKeyNone             // PING, AUTH ?, SELECT ?: none
	weftKeyAll              // DEL key key: all
	weftKeyAllButOne        // BLPOP key key ?: all but the last (a timeout)
	weftKeyPairs            // MSET key ? key ?: every other one
	weftKeyFields           // HSET key field ? field ?: the key, then field names between values
	weftKeyFieldList        // HMGET key field field: the key and field names
	weftKeySub              // CLIENT SETNAME ?: a subcommand, no keys
	weftKeyScript           // EVAL ? 1 key ?: script, numkeys, keys, values
	weftKeyNamed            // EVALSHA sha 1 key ?, FCALL fn 1 key ?: like EVAL, the name kept
)

func weftKeySpec(op string) int {
	switch op {
	case "AUTH", "HELLO", "SELECT", "PING", "ECHO", "QUIT", "INFO", "DBSIZE", "FLUSHDB",
		"FLUSHALL", "MULTI", "EXEC", "DISCARD", "UNWATCH", "TIME", "LASTSAVE", "SAVE",
		"BGSAVE", "BGREWRITEAOF", "SHUTDOWN", "SCAN", "RANDOMKEY", "KEYS", "WAIT", "SWAPDB",
		"MONITOR", "ROLE", "READONLY", "READWRITE", "RESET", "MIGRATE":
		return weftKeyNone
	case "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SUNION", "SINTER", "SDIFF",
		"SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE", "RENAME",
		"RENAMENX", "RPOPLPUSH", "COPY", "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE",
		"PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE":
		return weftKeyAll
	case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BRPOPLPUSH":
		return weftKeyAllButOne
	case "MSET", "MSETNX":
		return weftKeyPairs
	case "HSET", "HMSET", "HSETNX", "HINCRBY", "HINCRBYFLOAT":
		return weftKeyFields
	case "HGET", "HMGET", "HDEL", "HEXISTS", "HSTRLEN":
		return weftKeyFieldList
	case "CLIENT", "CONFIG", "CLUSTER", "COMMAND", "ACL", "SCRIPT", "FUNCTION", "MEMORY",
		"OBJECT", "SLOWLOG", "LATENCY", "XINFO", "XGROUP", "MODULE", "DEBUG", "PUBSUB":
		return weftKeySub
	case "EVAL", "EVAL_RO":
		return weftKeyScript
	case "EVALSHA", "EVALSHA_RO", "FCALL", "FCALL_RO":
		return weftKeyNamed
	}
	return weftKeyFirst
}

// weftRedisCommand returns the upper-case command name and the query text
// of a command and its arguments (the name not among them).
func weftRedisCommand(name string, args []interface{}) (op, text string) {
	op = strings.ToUpper(strings.TrimSpace(name))
	if op == "" {
		return "", ""
	}
	var b strings.Builder
	b.WriteString(op)
	spec := weftKeySpec(op)
	keysFrom, keysTo := -1, -1 // EVAL-style key range
	if spec == weftKeyScript || spec == weftKeyNamed {
		if len(args) > 1 {
			if n, err := strconv.Atoi(weftRedisArg(args[1])); err == nil && n >= 0 {
				keysFrom, keysTo = 2, 2+n
			}
		}
	}
	for i, a := range args {
		shown := false
		switch spec {
		case weftKeyFirst:
			shown = i == 0
		case weftKeyAll:
			shown = true
		case weftKeyAllButOne:
			shown = i < len(args)-1
		case weftKeyPairs:
			shown = i%2 == 0
		case weftKeyFields:
			shown = i == 0 || i%2 == 1
		case weftKeyFieldList:
			shown = true
		case weftKeySub:
			shown = i == 0
		case weftKeyScript:
			shown = i == 1 || i >= keysFrom && i < keysTo
		case weftKeyNamed:
			shown = i <= 1 || i >= keysFrom && i < keysTo
		}
		b.WriteByte(' ')
		s := "?"
		if shown {
			s = weftRedisArg(a)
			if spec == weftKeySub {
				s = strings.ToUpper(s)
			}
		}
		b.WriteString(s)
	}
	return op, b.String()
}

// weftRedisArg is an argument as Redis sees it, for the kinds keys come in;
// "?" for anything else.
func weftRedisArg(a interface{}) string {
	switch v := a.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	}
	return "?"
}

// weftRedisCmd is one command of a batch.
type weftRedisCmd struct{ op, text string }

// weftRedisBatch names a batch of commands as semconv asks: one command is
// itself; MULTI … EXEC is "MULTI" (or "MULTI INCR" when every command in it
// is an INCR) over the commands inside; anything else is "PIPELINE" (or
// "PIPELINE SET"). size is db.operation.batch.size, 0 when not a batch.
func weftRedisBatch(cmds []weftRedisCmd) (op, text string, size int) {
	if len(cmds) == 1 {
		return cmds[0].op, cmds[0].text, 0
	}
	kind, inner := "PIPELINE", cmds
	if n := len(cmds); n >= 2 && cmds[0].op == "MULTI" && cmds[n-1].op == "EXEC" {
		kind, inner = "MULTI", cmds[1:n-1]
	}
	if len(inner) == 0 {
		return kind, "", 0
	}
	op = kind + " " + inner[0].op
	sameText := true
	for _, c := range inner[1:] {
		if c.op != inner[0].op {
			op = kind
		}
		if c.text != inner[0].text {
			sameText = false
		}
	}
	if sameText {
		text = inner[0].text
	} else {
		parts := make([]string, len(inner))
		for i, c := range inner {
			parts[i] = c.text
		}
		text = strings.Join(parts, "; ")
	}
	if len(inner) > 1 {
		size = len(inner)
	}
	return op, text, size
}

package semconv

import (
	"sync"
	"sync/atomic"
)

// Programs run the same few statements over and over, and SQLInfo scans
// every byte of one: CachedSQLInfo keeps the answers for recent statements.
// The cache is bounded: past sqlCacheMax entries (or for statements longer
// than sqlCacheMaxLen) it starts over, so statements with inline literals
// cost one scan each, as without it.
const (
	sqlCacheMax    = 512
	sqlCacheMaxLen = 2048
)

type sqlInfo struct{ op, target, sanitized string }

type sqlCache struct {
	m sync.Map // query → *sqlInfo
	n atomic.Int32
}

var sqlCachePtr atomic.Pointer[sqlCache]

// CachedSQLInfo is SQLInfo with a bounded cache.
func CachedSQLInfo(query string) (operation, target, sanitized string) {
	if len(query) > sqlCacheMaxLen {
		return SQLInfo(query)
	}
	c := sqlCachePtr.Load()
	if c == nil {
		c = new(sqlCache)
		sqlCachePtr.CompareAndSwap(nil, c)
		c = sqlCachePtr.Load()
	}
	if v, ok := c.m.Load(query); ok {
		i := v.(*sqlInfo)
		return i.op, i.target, i.sanitized
	}
	op, target, s := SQLInfo(query)
	if c.n.Add(1) > sqlCacheMax {
		sqlCachePtr.CompareAndSwap(c, new(sqlCache))
	} else {
		c.m.Store(query, &sqlInfo{op, target, s})
	}
	return op, target, s
}

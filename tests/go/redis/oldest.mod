module example.com/redisfix

go 1.26.0

require (
	github.com/go-redis/redis/v8 v8.0.0
	github.com/gomodule/redigo v1.8.2
	github.com/redis/go-redis/v9 v9.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.opentelemetry.io/otel v0.11.0 // indirect
	golang.org/x/exp v0.0.0-20200908183739-ae8ad444f925 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

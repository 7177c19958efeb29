module example.com/weft-logs-fixture

go 1.22

require (
	github.com/rs/zerolog v1.13.0
	github.com/sirupsen/logrus v1.6.0
	go.uber.org/zap v1.9.1
)

require (
	github.com/konsorten/go-windows-terminal-sequences v1.0.3 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	golang.org/x/sys v0.0.0-20190422165155-953cdadca894 // indirect
)

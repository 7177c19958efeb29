module example.com/fiberfixture

go 1.22

require (
	github.com/gofiber/fiber/v2 v2.11.0
	github.com/valyala/fasthttp v1.26.0
)

require (
	github.com/andybalholm/brotli v1.0.2 // indirect
	github.com/klauspost/compress v1.12.2 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/tcplisten v1.0.0 // indirect
	golang.org/x/sys v0.0.0-20210514084401-e8d321eab015 // indirect
)

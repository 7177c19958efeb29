// Command fiber3 serves a Fiber v3 app for weft's Fiber tests (tests/go/fiber is the same for v2), and a plain
// net/http server it calls as its downstream.
//
//	GET  /users/:id         calls the downstream (GET /down) and answers "user ID"
//	GET  /api/items/:id     under a group with a Use middleware
//	GET  /sub/hello         a mounted app's route
//	GET  /boom              answers 500
//	POST /form              answers 201 ("?x=1" gives a url.query)
//	anything else           Fiber's 404 (405 for a known path, other method)
//	GET  /adapted/users/:id the same app served through net/http, as adaptor.FiberApp does
//
// Usage: fiber3 ADDR DOWN_ADDR ADAPTED_ADDR. Runs until killed.
package main

import (
	"io"
	"log"
	"net/http"
	"os"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// serveHTTP serves h through net/http, as Fiber's adaptor.FiberApp does
// (which older Fiber releases do not have).
func serveHTTP(h fasthttp.RequestHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req fasthttp.Request
		req.Header.SetMethod(r.Method)
		req.SetRequestURI(r.URL.RequestURI())
		req.Header.SetHost(r.Host)
		for k, vs := range r.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		h(&ctx)
		w.WriteHeader(ctx.Response.StatusCode())
		w.Write(ctx.Response.Body())
	}
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: fiber3 ADDR DOWN_ADDR ADAPTED_ADDR")
	}
	addr, down, adapted := os.Args[1], os.Args[2], os.Args[3]
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "down") })
		log.Fatal(http.ListenAndServe(down, mux))
	}()

	app := fiber.New()
	app.Get("/users/:id", func(c fiber.Ctx) error {
		resp, err := http.Get("http://" + down + "/down")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return c.SendString("user " + c.Params("id"))
	})
	api := app.Group("/api", func(c fiber.Ctx) error {
		c.Set("X-Api", "1")
		return c.Next()
	})
	api.Get("/items/:id", func(c fiber.Ctx) error { return c.SendString("item " + c.Params("id")) })
	sub := fiber.New()
	sub.Get("/hello", func(c fiber.Ctx) error { return c.SendString("hello") })
	app.Use("/sub", sub)
	app.Get("/boom", func(c fiber.Ctx) error { return fiber.NewError(500, "boom") })
	app.Post("/form", func(c fiber.Ctx) error { return c.Status(201).SendString("made") })

	go func() {
		mux := http.NewServeMux()
		mux.Handle("/adapted/", http.StripPrefix("/adapted", serveHTTP(app.Handler())))
		log.Fatal(http.ListenAndServe(adapted, mux))
	}()
	log.Fatal(app.Listen(addr, fiber.ListenConfig{DisableStartupMessage: true}))
}

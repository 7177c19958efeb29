// Command routers serves the same routes through gin, echo v3, v4 and
// v5, gorilla/mux, chi v5, nested ServeMuxes and httprouter (package hr),
// each on its own address,
// for weft's router tests:
//
//	GET /users/:id      calls GET /ping on the plain server with the request's ctx
//	GET /api/items/:id  a route of a group (mux: subrouter, chi: mounted router)
//
// Usage: routers PLAIN GIN ECHO3 ECHO4 ECHO5 MUX CHI SERVEMUX HTTPROUTER (host:port each). Runs until killed.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	echo3 "github.com/labstack/echo"
	echo4 "github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"

	"example.com/routers/hr"
)

var plain string

// ping calls the plain server with the request's context: its client span
// must be a child of the router's server span.
func ping(r *http.Request) string {
	req, err := http.NewRequestWithContext(r.Context(), "GET", "http://"+plain+"/ping", nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func ginHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.GET("/users/:id", func(c *gin.Context) { c.String(200, "gin user %s %s", c.Param("id"), ping(c.Request)) })
	g.Group("/api").GET("/items/:id", func(c *gin.Context) { c.String(200, "gin item %s", c.Param("id")) })
	return g
}

func echo3Handler() http.Handler {
	e := echo3.New()
	e.GET("/users/:id", func(c echo3.Context) error {
		return c.String(200, "echo3 user "+c.Param("id")+" "+ping(c.Request()))
	})
	e.Group("/api").GET("/items/:id", func(c echo3.Context) error { return c.String(200, "echo3 item "+c.Param("id")) })
	return e
}

func echo4Handler() http.Handler {
	e := echo4.New()
	e.GET("/users/:id", func(c echo4.Context) error {
		return c.String(200, "echo4 user "+c.Param("id")+" "+ping(c.Request()))
	})
	e.Group("/api").GET("/items/:id", func(c echo4.Context) error { return c.String(200, "echo4 item "+c.Param("id")) })
	return e
}

func echo5Handler() http.Handler {
	e := echo5.New()
	e.GET("/users/:id", func(c *echo5.Context) error {
		return c.String(200, "echo5 user "+c.Param("id")+" "+ping(c.Request()))
	})
	api := e.Group("/api")
	api.GET("/items/:id", func(c *echo5.Context) error { return c.String(200, "echo5 item "+c.Param("id")) })
	// A group 404 route of its own: not the request's route.
	api.RouteNotFound("/*", func(c *echo5.Context) error { return c.String(404, "echo5 no such item") })
	return e
}

func muxHandler() http.Handler {
	m := mux.NewRouter()
	m.HandleFunc("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "mux user %s %s", mux.Vars(r)["id"], ping(r))
	}).Methods("GET")
	m.PathPrefix("/api").Subrouter().HandleFunc("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "mux item %s", mux.Vars(r)["id"])
	}).Methods("GET")
	return m
}

func chiHandler() http.Handler {
	c := chi.NewRouter()
	c.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "chi user %s %s", chi.URLParam(r, "id"), ping(r))
	})
	api := chi.NewRouter()
	api.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "chi item %s", chi.URLParam(r, "id"))
	})
	c.Mount("/api", api)
	return c
}

type key struct{}

// serveMuxHandler nests ServeMuxes as programs do: behind a middleware that
// copies the request (WithContext), and a mux for /api/ behind StripPrefix.
func serveMuxHandler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "servemux item %s", r.PathValue("id"))
	})
	root := http.NewServeMux()
	root.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "servemux user %s %s", r.PathValue("id"), ping(r))
	})
	root.Handle("/api/", http.StripPrefix("/api", api))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		root.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, 1)))
	})
}

func serve(addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(ln, h)) }()
}

func main() {
	if len(os.Args) != 10 {
		log.Fatal("usage: routers PLAIN GIN ECHO3 ECHO4 ECHO5 MUX CHI SERVEMUX HTTPROUTER")
	}
	plain = os.Args[1]
	p := http.NewServeMux()
	p.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "pong") })
	serve(plain, p)
	serve(os.Args[2], ginHandler())
	serve(os.Args[3], echo3Handler())
	serve(os.Args[4], echo4Handler())
	serve(os.Args[5], echo5Handler())
	serve(os.Args[6], muxHandler())
	serve(os.Args[7], chiHandler())
	serve(os.Args[8], serveMuxHandler())
	hr.Ping = ping
	serve(os.Args[9], hr.Router)
	select {}
}

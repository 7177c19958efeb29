// Package hr serves the routes with julienschmidt/httprouter, added while
// the package initializes (as programs do in a package-level var), which
// may be before weft/rt is initialized.
package hr

import (
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// Ping calls the plain server; main sets it.
var Ping func(*http.Request) string

var Router = newRouter()

func newRouter() *httprouter.Router {
	r := httprouter.New()
	r.GET("/users/:id", func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
		fmt.Fprintf(w, "httprouter user %s %s", ps.ByName("id"), Ping(req))
	})
	r.HandlerFunc("GET", "/api/items/:id", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "httprouter item %s", httprouter.ParamsFromContext(req.Context()).ByName("id"))
	})
	return r
}

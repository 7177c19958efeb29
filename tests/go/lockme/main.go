// A program with a user-rule target (greet) and a built-in one (net/http).
package main

import (
	"fmt"
	"net/http"
	"os"

	"example.com/lockme/greet"
)

func main() {
	fmt.Println(greet.Hello(os.Args[1]))
	_ = http.StatusOK
}

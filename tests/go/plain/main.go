// A program no rule touches: weft must build it to the same bytes as go.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println(strings.ToUpper("plain"), len(os.Args))
}

package main

import "example.com/badsyntax/lib"

func main() { println(lib.Hook(1)) }

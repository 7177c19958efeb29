module example.com/ctxless

go 1.22

module example.com/reexec

go 1.22

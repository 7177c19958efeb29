module example.com/badsyntax

go 1.22

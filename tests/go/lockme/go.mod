module example.com/lockme

go 1.22

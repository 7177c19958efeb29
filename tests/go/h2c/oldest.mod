module example.com/h2c

go 1.22

require golang.org/x/net v0.8.0

require golang.org/x/text v0.8.0 // indirect

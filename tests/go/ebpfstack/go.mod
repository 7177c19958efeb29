module example.com/weft-ebpf-stack

go 1.22

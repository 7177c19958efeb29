module example.com/kafkagofixture

go 1.22

require github.com/segmentio/kafka-go v0.4.10

require (
	github.com/golang/snappy v0.0.1 // indirect
	github.com/klauspost/compress v1.9.8 // indirect
	github.com/pierrec/lz4 v2.0.5+incompatible // indirect
)

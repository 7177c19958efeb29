package sarama

const weftScope = "weft/github.com/IBM/sarama"

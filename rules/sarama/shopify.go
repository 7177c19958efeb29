package sarama

const weftScope = "weft/github.com/Shopify/sarama"

//go:build shopify

// Package k names the sarama the fixture is built with: IBM/sarama, or with
// -tags shopify its old path, Shopify/sarama.
package k

import "github.com/Shopify/sarama"

type (
	Config               = sarama.Config
	ProducerMessage      = sarama.ProducerMessage
	ConsumerMessage      = sarama.ConsumerMessage
	RecordHeader         = sarama.RecordHeader
	StringEncoder        = sarama.StringEncoder
	ConsumerGroupSession = sarama.ConsumerGroupSession
	ConsumerGroupClaim   = sarama.ConsumerGroupClaim
	TopicDetail          = sarama.TopicDetail
)

var (
	NewConfig        = sarama.NewConfig
	NewSyncProducer  = sarama.NewSyncProducer
	NewAsyncProducer = sarama.NewAsyncProducer
	NewConsumerGroup = sarama.NewConsumerGroup
	NewConsumer      = sarama.NewConsumer
	NewClusterAdmin  = sarama.NewClusterAdmin
	Version          = sarama.V2_1_0_0
)

const OffsetOldest = sarama.OffsetOldest

// Package dlq is the dead-letter queue: messages that failed processing
// elsewhere are published under a subject prefix ("dlq.>") and captured by a
// JetStream stream; an ingest worker copies each one into the dlq_messages
// table exactly once (acknowledging only after the row is committed), and
// operators list, inspect, resolve and requeue them through the Service.
//
// Exactly-once storage rests on the unique stream sequence: a redelivery after
// a crash, or the same message seen by another replica, inserts nothing and is
// acknowledged. A requeue publishes before it marks the row, under a claim
// that keeps a concurrent resolve on any replica from publishing it twice.
package dlq

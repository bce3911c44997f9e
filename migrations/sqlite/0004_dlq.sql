-- Dead-letter queue: one row per message of the DLQ stream (DESIGN §5).
-- Mirrors postgres/0004_dlq.sql: id is a UUID as text, data a BLOB, headers a
-- JSON object as text, booleans 0/1, times written by the service in UTC.
CREATE TABLE dlq_messages (
    id               TEXT     PRIMARY KEY,
    stream_seq       INTEGER  NOT NULL,
    original_subject TEXT     NOT NULL,
    data             BLOB     NOT NULL,
    headers          TEXT     NOT NULL DEFAULT '{}',
    error            TEXT     NOT NULL DEFAULT '',
    error_count      INTEGER  NOT NULL DEFAULT 0,
    created_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    resolved         BOOLEAN  NOT NULL DEFAULT 0,
    resolved_at      DATETIME,
    resolved_by      TEXT,
    resolution_notes TEXT,
    requeued_at      DATETIME,
    requeue_count    INTEGER  NOT NULL DEFAULT 0,
    claim_token      TEXT,
    claim_expires_at DATETIME,
    CONSTRAINT dlq_messages_stream_seq_key UNIQUE (stream_seq)
);

CREATE INDEX dlq_messages_resolved_created_idx ON dlq_messages (resolved, created_at DESC, id DESC);
CREATE INDEX dlq_messages_subject_idx ON dlq_messages (original_subject);
CREATE INDEX dlq_messages_unresolved_idx ON dlq_messages (id) WHERE NOT resolved;

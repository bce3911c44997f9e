-- Dead-letter queue: one row per message of the DLQ stream (DESIGN §5). The
-- unique stream_seq makes ingest exactly-once: a redelivered message (after a
-- crash between commit and ack, or on another replica) inserts nothing.
CREATE TABLE dlq_messages (
    id               uuid        PRIMARY KEY,
    stream_seq       bigint      NOT NULL,
    original_subject text        NOT NULL,
    data             bytea       NOT NULL,
    headers          jsonb       NOT NULL DEFAULT '{}',
    error            text        NOT NULL DEFAULT '',
    error_count      integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    resolved         boolean     NOT NULL DEFAULT false,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution_notes text,
    requeued_at      timestamptz,
    requeue_count    integer     NOT NULL DEFAULT 0,
    -- a resolve in progress (publishing the requeue) holds the row until
    -- claim_expires_at so no other request publishes it meanwhile
    claim_token      text,
    claim_expires_at timestamptz,
    CONSTRAINT dlq_messages_stream_seq_key UNIQUE (stream_seq)
);

-- GET /dlq pages newest first with a (created_at, id) keyset cursor, filtered
-- by resolved.
CREATE INDEX dlq_messages_resolved_created_idx ON dlq_messages (resolved, created_at DESC, id DESC);
CREATE INDEX dlq_messages_subject_idx ON dlq_messages (original_subject);
-- The dlq_unresolved gauge counts these rows.
CREATE INDEX dlq_messages_unresolved_idx ON dlq_messages (id) WHERE NOT resolved;

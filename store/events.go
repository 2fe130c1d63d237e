package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// AppendEvents stores events in workspace ws, skipping any whose id the
// workspace already has, and reports how many were new. A zero ReceivedAt is
// now; a zero Timestamp is ReceivedAt.
func (db *DB) AppendEvents(ctx context.Context, ws string, events []Event) (int, error) {
	if err := checkWS(ws); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	var inserted int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
		var err error
		inserted, err = w.events(ctx, events)
		return err
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}

// Journey limits.
const (
	DefaultJourney = 50
	MaxJourney     = 1000
)

// Journey returns a customer's latest events, newest first. limit is
// DefaultJourney when not positive and at most MaxJourney.
func (db *DB) Journey(ctx context.Context, ws, customerID string, limit int) ([]Event, error) {
	if err := checkWS(ws); err != nil {
		return nil, err
	}
	switch {
	case limit <= 0:
		limit = DefaultJourney
	case limit > MaxJourney:
		limit = MaxJourney
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT id, account_id, name, properties_json, occurred_at,
			source, received_at FROM events WHERE workspace_id = ? AND customer_id = ?
		ORDER BY occurred_at DESC, id DESC LIMIT ?`), ws, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: journey: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		e := Event{WorkspaceID: ws, CustomerID: customerID}
		var (
			props              string
			occurred, received int64
		)
		if err := rows.Scan(&e.ID, &e.AccountID, &e.Name, &props, &occurred, &e.Source, &received); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &e.Properties); err != nil {
			return nil, fmt.Errorf("store: decode properties of event %q: %w", e.ID, err)
		}
		if e.Properties == nil {
			e.Properties = map[string]any{}
		}
		e.Timestamp, e.ReceivedAt = fromMicros(occurred), fromMicros(received)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: journey: %w", err)
	}
	return out, nil
}
